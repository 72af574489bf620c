//! The AI features' settings: off unless `AI_FEATURES_ENABLED` is true; a model only when
//! `LLM_PROVIDER` names one (without, questions are read by AOC's parser and answered with its
//! summaries). Errors name the variable at fault; the API key never appears in one.

use std::time::Duration;

use aoc_ai::{ApiKey, LlmSettings, Provider};

use super::ConfigError;
use crate::cli::AiArgs;

/// The AI features, as configured.
#[derive(Debug, Clone)]
pub struct AiConfig {
    /// The model; `None`: parser and summaries only.
    pub llm: Option<LlmSettings>,
    pub ask_ttl: Duration,
    pub explain_ttl: Duration,
    /// Model tokens each caller may spend per UTC day; 0: no limit.
    pub daily_tokens_per_user: u64,
}

impl AiConfig {
    /// `None` when the AI features are off.
    pub fn from_args(args: &AiArgs) -> Result<Option<Self>, ConfigError> {
        let enabled = match args.ai_features_enabled.as_deref().map(str::trim) {
            None | Some("") => false,
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => true,
                "false" | "0" | "no" | "off" => false,
                _ => {
                    return Err(ConfigError::new(
                        "AI_FEATURES_ENABLED",
                        "ai-features-enabled",
                        format!("invalid value {v:?}: expected true or false"),
                    ));
                }
            },
        };
        if !enabled {
            return Ok(None);
        }
        let ask_ttl = seconds(
            &args.ask_cache_seconds,
            1..=604_800,
            ("ASK_CACHE_SECONDS", "ask-cache-seconds"),
        )?;
        let explain_ttl = seconds(
            &args.explain_cache_seconds,
            1..=604_800,
            ("EXPLAIN_CACHE_SECONDS", "explain-cache-seconds"),
        )?;
        let daily_tokens_per_user = match args.llm_daily_tokens_per_user.trim().parse::<u64>() {
            Ok(n) => n,
            Err(_) => {
                return Err(ConfigError::new(
                    "LLM_DAILY_TOKENS_PER_USER",
                    "llm-daily-tokens-per-user",
                    format!(
                        "invalid value {:?}: expected a whole number of tokens (0: no limit)",
                        args.llm_daily_tokens_per_user
                    ),
                ));
            }
        };
        Ok(Some(Self {
            llm: llm(args)?,
            ask_ttl,
            explain_ttl,
            daily_tokens_per_user,
        }))
    }
}

pub(super) fn text(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

pub(super) fn seconds(
    value: &str,
    range: std::ops::RangeInclusive<u64>,
    (var, flag): (&'static str, &'static str),
) -> Result<Duration, ConfigError> {
    match value.trim().parse::<u64>() {
        Ok(n) if range.contains(&n) => Ok(Duration::from_secs(n)),
        _ => Err(ConfigError::new(
            var,
            flag,
            format!(
                "invalid value {value:?}: expected a whole number of seconds from {} to {}",
                range.start(),
                range.end()
            ),
        )),
    }
}

fn llm(args: &AiArgs) -> Result<Option<LlmSettings>, ConfigError> {
    let provider_err = |m: String| ConfigError::new("LLM_PROVIDER", "llm-provider", m);
    let name = text(args.llm_provider.as_deref()).map(|p| p.to_ascii_lowercase());
    let (provider, default_base) = match name.as_deref() {
        None | Some("none") => return Ok(None),
        Some("openai") => (Provider::OpenAi, Some("https://api.openai.com/v1")),
        Some("anthropic") => (Provider::Anthropic, Some("https://api.anthropic.com")),
        Some("azure-openai" | "azure") => {
            let deployment = text(args.azure_openai_deployment.as_deref()).ok_or_else(|| {
                ConfigError::new(
                    "AZURE_OPENAI_DEPLOYMENT",
                    "azure-openai-deployment",
                    "required with LLM_PROVIDER=azure-openai: the deployment to call",
                )
            })?;
            let api_version = args.azure_openai_api_version.trim().to_owned();
            (
                Provider::AzureOpenAi {
                    deployment,
                    api_version,
                },
                None,
            )
        }
        Some(other) => {
            return Err(provider_err(format!(
                "invalid value {other:?}: expected openai, azure-openai, anthropic or none"
            )));
        }
    };
    let base = text(args.llm_base_url.as_deref())
        .or(default_base.map(str::to_owned))
        .ok_or_else(|| {
            ConfigError::new(
                "LLM_BASE_URL",
                "llm-base-url",
                "required with LLM_PROVIDER=azure-openai: your resource's endpoint, e.g. https://contoso.openai.azure.com",
            )
        })?;
    let base_url = url::Url::parse(&base)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or_else(|| {
            ConfigError::new(
                "LLM_BASE_URL",
                "llm-base-url",
                format!("invalid value {base:?}: expected an http(s) address"),
            )
        })?;
    let model = match (&provider, text(args.llm_model.as_deref())) {
        (_, Some(model)) => model,
        (Provider::AzureOpenAi { deployment, .. }, None) => deployment.clone(),
        (_, None) => {
            return Err(ConfigError::new(
                "LLM_MODEL",
                "llm-model",
                "required with a model provider, e.g. gpt-4o-mini, llama3.1 or claude-sonnet-4-5",
            ));
        }
    };
    Ok(Some(LlmSettings {
        provider,
        base_url,
        api_key: text(args.llm_api_key.as_deref()).map(ApiKey::new),
        model,
        timeout: seconds(
            &args.llm_timeout_seconds,
            1..=600,
            ("LLM_TIMEOUT_SECONDS", "llm-timeout-seconds"),
        )?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> AiArgs {
        AiArgs {
            ai_features_enabled: Some("true".into()),
            llm_timeout_seconds: "30".into(),
            azure_openai_api_version: "2024-10-21".into(),
            ask_cache_seconds: "3600".into(),
            explain_cache_seconds: "86400".into(),
            llm_daily_tokens_per_user: "200000".into(),
            ..AiArgs::default()
        }
    }

    fn var(args: &AiArgs) -> Option<&'static str> {
        AiConfig::from_args(args).err().and_then(|e| e.var)
    }

    #[test]
    fn off_unless_enabled_and_parser_only_without_a_provider() {
        assert!(
            AiConfig::from_args(&AiArgs::default())
                .expect("ok")
                .is_none()
        );
        let off = AiArgs {
            ai_features_enabled: Some("false".into()),
            ..args()
        };
        assert!(AiConfig::from_args(&off).expect("ok").is_none());
        let on = AiConfig::from_args(&args()).expect("ok").expect("on");
        assert!(on.llm.is_none());
        assert_eq!(on.ask_ttl, Duration::from_secs(3600));
    }

    #[test]
    fn providers_and_their_defaults() {
        let openai = AiArgs {
            llm_provider: Some("OpenAI".into()),
            llm_model: Some("gpt-4o-mini".into()),
            llm_api_key: Some("sk-secret-value".into()),
            ..args()
        };
        let config = AiConfig::from_args(&openai).expect("ok").expect("on");
        let llm = config.llm.expect("llm");
        assert_eq!(llm.provider, Provider::OpenAi);
        assert_eq!(llm.base_url.as_str(), "https://api.openai.com/v1");
        assert!(!format!("{llm:?}").contains("sk-secret-value"));

        let azure = AiArgs {
            llm_provider: Some("azure-openai".into()),
            llm_base_url: Some("https://contoso.openai.azure.com".into()),
            azure_openai_deployment: Some("gpt-4o-aoc".into()),
            ..args()
        };
        let llm = AiConfig::from_args(&azure)
            .expect("ok")
            .expect("on")
            .llm
            .expect("llm");
        assert_eq!(llm.model, "gpt-4o-aoc");

        let ollama = AiArgs {
            llm_provider: Some("openai".into()),
            llm_base_url: Some("http://localhost:11434/v1".into()),
            llm_model: Some("llama3.1".into()),
            ..args()
        };
        let llm = AiConfig::from_args(&ollama)
            .expect("ok")
            .expect("on")
            .llm
            .expect("llm");
        assert_eq!(llm.base_url.as_str(), "http://localhost:11434/v1");
        assert!(llm.api_key.is_none());
    }

    #[test]
    fn bad_settings_name_their_variable() {
        let bad = |change: fn(&mut AiArgs)| {
            let mut a = args();
            change(&mut a);
            var(&a)
        };
        assert_eq!(
            bad(|a| a.ai_features_enabled = Some("maybe".into())),
            Some("AI_FEATURES_ENABLED")
        );
        assert_eq!(
            bad(|a| a.llm_provider = Some("gemini".into())),
            Some("LLM_PROVIDER")
        );
        assert_eq!(
            bad(|a| a.llm_provider = Some("openai".into())),
            Some("LLM_MODEL")
        );
        assert_eq!(
            bad(|a| a.llm_provider = Some("azure-openai".into())),
            Some("AZURE_OPENAI_DEPLOYMENT")
        );
        assert_eq!(
            bad(|a| {
                a.llm_provider = Some("azure-openai".into());
                a.azure_openai_deployment = Some("d".into());
            }),
            Some("LLM_BASE_URL")
        );
        assert_eq!(
            bad(|a| {
                a.llm_provider = Some("anthropic".into());
                a.llm_model = Some("m".into());
                a.llm_base_url = Some("ftp://x".into());
            }),
            Some("LLM_BASE_URL")
        );
        assert_eq!(
            bad(|a| {
                a.llm_provider = Some("anthropic".into());
                a.llm_model = Some("m".into());
                a.llm_timeout_seconds = "0".into();
            }),
            Some("LLM_TIMEOUT_SECONDS")
        );
        assert_eq!(
            bad(|a| a.ask_cache_seconds = "forever".into()),
            Some("ASK_CACHE_SECONDS")
        );
        assert_eq!(
            bad(|a| a.explain_cache_seconds = "0".into()),
            Some("EXPLAIN_CACHE_SECONDS")
        );
        assert_eq!(
            bad(|a| a.llm_daily_tokens_per_user = "lots".into()),
            Some("LLM_DAILY_TOKENS_PER_USER")
        );
    }
}
