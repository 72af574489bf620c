//! Language models behind one trait: any OpenAI-compatible chat-completions API (OpenAI, Azure
//! OpenAI, Ollama, vLLM, LM Studio) and Anthropic's Messages API, each a thin client over one
//! `reqwest` client. The API key is held in an [`ApiKey`] that never prints, and no error
//! carries it: a failure says what happened and what the server answered, not what was sent.

mod anthropic;
mod openai;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

pub use anthropic::Anthropic;
pub use openai::OpenAiCompatible;

/// An API key: sent in a header, never printed.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

/// Which protocol the model speaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provider {
    /// `POST {base}/chat/completions` with a bearer key (OpenAI, Ollama's `/v1`, vLLM, LM Studio).
    OpenAi,
    /// `POST {base}/openai/deployments/{deployment}/chat/completions?api-version=…` with an
    /// `api-key` header.
    AzureOpenAi {
        deployment: String,
        api_version: String,
    },
    /// `POST {base}/v1/messages` with `x-api-key` and `anthropic-version`.
    Anthropic,
}

/// How to reach the model.
#[derive(Debug, Clone)]
pub struct LlmSettings {
    pub provider: Provider,
    /// The API's base address, e.g. `https://api.openai.com/v1`, `http://localhost:11434/v1`,
    /// `https://contoso.openai.azure.com`, `https://api.anthropic.com`.
    pub base_url: url::Url,
    pub api_key: Option<ApiKey>,
    pub model: String,
    /// The most one call may take, reply included.
    pub timeout: Duration,
}

/// One exchange: instructions, the question with its context, and optionally the JSON schema
/// the reply must follow.
#[derive(Debug, Clone)]
pub struct ChatRequest {
    pub system: String,
    pub user: String,
    /// A name and a JSON schema: the reply is asked to be one JSON document of that shape.
    pub json_schema: Option<(String, Value)>,
    pub max_tokens: u32,
}

/// The model's reply and what it cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatReply {
    pub text: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// A call that did not give a reply.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("the model did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the model's API cannot be reached: {0}")]
    Unreachable(String),
    /// The API answered with an error status; `detail` is the start of its answer.
    #[error("the model's API answered {status}: {detail}")]
    Status { status: u16, detail: String },
    /// An answer that is not the API's reply shape.
    #[error("the model's API answered something unreadable: {0}")]
    BadReply(String),
    #[error("the model settings are unusable: {0}")]
    Settings(String),
}

/// A language model.
#[async_trait]
pub trait LlmProvider: Send + Sync {
    /// One completion.
    async fn complete(&self, request: &ChatRequest) -> Result<ChatReply, LlmError>;

    /// The model's name, for logs and metrics.
    fn model(&self) -> &str;
}

/// The provider `settings` describe.
///
/// # Errors
/// No HTTPS client can be built.
pub fn provider(settings: LlmSettings) -> Result<Arc<dyn LlmProvider>, LlmError> {
    let http = reqwest::Client::builder()
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
        .build()
        .map_err(|e| LlmError::Settings(format!("HTTP client: {e}")))?;
    Ok(match settings.provider {
        Provider::Anthropic => Arc::new(Anthropic::new(http, settings)),
        Provider::OpenAi | Provider::AzureOpenAi { .. } => {
            Arc::new(OpenAiCompatible::new(http, settings))
        }
    })
}

/// Sends `body` to `url` and reads the JSON answer, mapping every failure to an [`LlmError`]
/// that holds no request header.
pub(crate) async fn post_json(
    request: reqwest::RequestBuilder,
    settings: &LlmSettings,
) -> Result<Value, LlmError> {
    let timeout = settings.timeout;
    let response = request.send().await.map_err(|e| {
        if e.is_timeout() {
            LlmError::Timeout(timeout)
        } else {
            LlmError::Unreachable(without_url(&e))
        }
    })?;
    let status = response.status();
    let bytes = response.bytes().await.map_err(|e| {
        if e.is_timeout() {
            LlmError::Timeout(timeout)
        } else {
            LlmError::Unreachable(without_url(&e))
        }
    })?;
    if !status.is_success() {
        let mut detail: String = String::from_utf8_lossy(&bytes).chars().take(300).collect();
        // Some APIs echo the key they refused.
        if let Some(key) = settings.api_key.as_ref().filter(|k| !k.expose().is_empty()) {
            detail = detail.replace(key.expose(), "***");
        }
        return Err(LlmError::Status {
            status: status.as_u16(),
            detail,
        });
    }
    serde_json::from_slice(&bytes).map_err(|e| LlmError::BadReply(format!("not JSON: {e}")))
}

/// reqwest's message without the URL (an Azure URL names the resource; a proxy URL may hold
/// credentials).
fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(url.as_str(), "<url>");
    }
    text
}

/// A model's JSON reply without the Markdown code fence chat models like to wrap it in.
pub(crate) fn json_text(reply: &str) -> &str {
    let body = reply.trim();
    body.strip_prefix("```json")
        .or_else(|| body.strip_prefix("```"))
        .and_then(|b| b.strip_suffix("```"))
        .unwrap_or(body)
        .trim()
}

fn tokens(value: &Value) -> u64 {
    value.as_u64().unwrap_or_default()
}

#[cfg(test)]
mod tests;
