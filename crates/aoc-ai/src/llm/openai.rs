//! OpenAI-compatible chat completions: OpenAI, Azure OpenAI, Ollama, vLLM, LM Studio.

use async_trait::async_trait;
use serde_json::{Value, json};

use super::{
    ChatReply, ChatRequest, LlmError, LlmProvider, LlmSettings, Provider, post_json, tokens,
};

pub struct OpenAiCompatible {
    http: reqwest::Client,
    settings: LlmSettings,
}

impl OpenAiCompatible {
    pub fn new(http: reqwest::Client, settings: LlmSettings) -> Self {
        Self { http, settings }
    }

    fn endpoint(&self) -> Result<url::Url, LlmError> {
        let base = self.settings.base_url.as_str().trim_end_matches('/');
        let url = match &self.settings.provider {
            Provider::AzureOpenAi {
                deployment,
                api_version,
            } => {
                let mut url = url::Url::parse(&format!("{base}/openai/deployments/"))
                    .and_then(|u| u.join(&format!("{deployment}/chat/completions")))
                    .map_err(|e| LlmError::Settings(format!("Azure OpenAI address: {e}")))?;
                url.query_pairs_mut()
                    .append_pair("api-version", api_version);
                url
            }
            _ => url::Url::parse(&format!("{base}/chat/completions"))
                .map_err(|e| LlmError::Settings(format!("base address: {e}")))?,
        };
        Ok(url)
    }
}

#[async_trait]
impl LlmProvider for OpenAiCompatible {
    async fn complete(&self, request: &ChatRequest) -> Result<ChatReply, LlmError> {
        let mut body = json!({
            "model": self.settings.model,
            "messages": [
                { "role": "system", "content": request.system },
                { "role": "user", "content": request.user },
            ],
            "max_tokens": request.max_tokens,
            "temperature": 0,
        });
        if let Some((name, schema)) = &request.json_schema {
            body["response_format"] = json!({
                "type": "json_schema",
                "json_schema": { "name": name, "strict": true, "schema": schema },
            });
        }
        let mut call = self.http.post(self.endpoint()?).json(&body);
        if let Some(key) = &self.settings.api_key {
            call = match self.settings.provider {
                Provider::AzureOpenAi { .. } => call.header("api-key", key.expose()),
                _ => call.bearer_auth(key.expose()),
            };
        }
        let reply = post_json(call, &self.settings).await?;
        let text = reply
            .pointer("/choices/0/message/content")
            .and_then(Value::as_str)
            .ok_or_else(|| LlmError::BadReply("no choices[0].message.content".into()))?;
        Ok(ChatReply {
            text: text.to_owned(),
            input_tokens: tokens(&reply["usage"]["prompt_tokens"]),
            output_tokens: tokens(&reply["usage"]["completion_tokens"]),
        })
    }

    fn model(&self) -> &str {
        &self.settings.model
    }
}
