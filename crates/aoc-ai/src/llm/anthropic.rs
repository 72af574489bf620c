//! Anthropic's Messages API.

use async_trait::async_trait;
use serde_json::json;

use super::{ChatReply, ChatRequest, LlmError, LlmProvider, LlmSettings, post_json, tokens};

/// The API version AOC speaks.
const VERSION: &str = "2023-06-01";

pub struct Anthropic {
    http: reqwest::Client,
    settings: LlmSettings,
}

impl Anthropic {
    pub fn new(http: reqwest::Client, settings: LlmSettings) -> Self {
        Self { http, settings }
    }
}

#[async_trait]
impl LlmProvider for Anthropic {
    async fn complete(&self, request: &ChatRequest) -> Result<ChatReply, LlmError> {
        // The Messages API has no schema-constrained reply mode of its own here: the schema
        // goes into the instructions, and the reply is checked like any other.
        let system = match &request.json_schema {
            Some((name, schema)) => format!(
                "{}\n\nReply with one JSON document only, no prose, matching this JSON schema \
                 ({name}):\n{schema}",
                request.system
            ),
            None => request.system.clone(),
        };
        let body = json!({
            "model": self.settings.model,
            "max_tokens": request.max_tokens,
            "system": system,
            "messages": [{ "role": "user", "content": request.user }],
            "temperature": 0,
        });
        let base = self.settings.base_url.as_str().trim_end_matches('/');
        let url = url::Url::parse(&format!("{base}/v1/messages"))
            .map_err(|e| LlmError::Settings(format!("base address: {e}")))?;
        let mut call = self
            .http
            .post(url)
            .header("anthropic-version", VERSION)
            .json(&body);
        if let Some(key) = &self.settings.api_key {
            call = call.header("x-api-key", key.expose());
        }
        let reply = post_json(call, &self.settings).await?;
        let text: String = reply["content"]
            .as_array()
            .ok_or_else(|| LlmError::BadReply("no content".into()))?
            .iter()
            .filter(|block| block["type"] == "text")
            .filter_map(|block| block["text"].as_str())
            .collect();
        if text.is_empty() {
            return Err(LlmError::BadReply("no text in content".into()));
        }
        Ok(ChatReply {
            text,
            input_tokens: tokens(&reply["usage"]["input_tokens"]),
            output_tokens: tokens(&reply["usage"]["output_tokens"]),
        })
    }

    fn model(&self) -> &str {
        &self.settings.model
    }
}
