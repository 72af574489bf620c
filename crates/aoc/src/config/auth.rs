//! Whether `aoc serve` requires sign-in with Entra ID, and with which settings.
//!
//! The rule, checked at start-up:
//!
//! - `--insecure-no-auth`: sign-in off on any address, with a warning at every start
//!   (refused together with `AUTH_ENABLED=true`).
//! - `AUTH_ENABLED=true`: sign-in on; `AUTH_TENANT_ID` and `AUTH_AUDIENCE` are required.
//! - `AUTH_ENABLED=false`: sign-in off, on a loopback address only.
//! - `AUTH_ENABLED` unset: on when `AUTH_TENANT_ID` or `AUTH_AUDIENCE` is set; otherwise local
//!   mode on a loopback address (the zero-setup laptop case, `aoc serve --demo`), and a refusal
//!   to start on any other address.

use std::net::SocketAddr;

use aoc_api::auth::{AuthSettings, Role, RoleNames, SettingsError};

use crate::cli::AuthArgs;
use crate::config::ConfigError;

/// How callers of the API are authenticated.
#[derive(Debug, Clone)]
pub enum AuthConfig {
    /// Bearer tokens from Entra ID, checked with these (validated) settings.
    Entra(Box<AuthSettings>),
    /// No sign-in: every caller is the local user, with every role.
    Off(Off),
}

/// Why sign-in is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Off {
    /// Nothing about sign-in configured, and a loopback address.
    LocalMode,
    /// `AUTH_ENABLED=false` on a loopback address.
    Disabled,
    /// `--insecure-no-auth`.
    Insecure,
}

impl AuthConfig {
    /// # Errors
    /// A bad value, a missing one when sign-in is on, or sign-in off on a non-loopback address
    /// without `--insecure-no-auth`.
    pub fn from_args(args: &AuthArgs, bind: SocketAddr) -> Result<Self, ConfigError> {
        let enabled = parse_enabled(args.auth_enabled.as_deref())?;
        let loopback = bind.ip().is_loopback();
        if args.insecure_no_auth {
            if enabled == Some(true) {
                return Err(ConfigError::new(
                    "AUTH_ENABLED",
                    "auth-enabled",
                    "AUTH_ENABLED=true and --insecure-no-auth contradict each other; drop one",
                ));
            }
            return Ok(Self::Off(Off::Insecure));
        }
        let configured = [&args.auth_tenant_id, &args.auth_audience]
            .into_iter()
            .any(|value| value.as_deref().is_some_and(|v| !v.trim().is_empty()));
        match enabled {
            Some(true) => Ok(Self::Entra(Box::new(entra(args)?))),
            None if configured => Ok(Self::Entra(Box::new(entra(args)?))),
            Some(false) if loopback => Ok(Self::Off(Off::Disabled)),
            None if loopback => Ok(Self::Off(Off::LocalMode)),
            Some(false) | None => Err(ConfigError::new(
                "AUTH_ENABLED",
                "auth-enabled",
                format!(
                    "AOC_BIND {bind} is not a loopback address, and the API must not be open to the \
                     network without sign-in: set AUTH_TENANT_ID and AUTH_AUDIENCE (sign-in with Entra \
                     ID), or pass --insecure-no-auth to serve without it"
                ),
            )),
        }
    }
}

fn parse_enabled(value: Option<&str>) -> Result<Option<bool>, ConfigError> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(Some(true)),
        "false" | "0" | "no" | "off" => Ok(Some(false)),
        _ => Err(ConfigError::new(
            "AUTH_ENABLED",
            "auth-enabled",
            format!("invalid value {value:?}: expected true or false"),
        )),
    }
}

/// The settings sign-in needs, validated; errors name the variable at fault.
fn entra(args: &AuthArgs) -> Result<AuthSettings, ConfigError> {
    let tenant_id = args
        .auth_tenant_id
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            ConfigError::new(
                "AUTH_TENANT_ID",
                "auth-tenant-id",
                "required when sign-in is on: the directory (tenant) id whose users sign in, a GUID",
            )
        })?;
    let audiences = comma_list(args.auth_audience.as_deref());
    if audiences.is_empty() {
        return Err(ConfigError::new(
            "AUTH_AUDIENCE",
            "auth-audience",
            "required when sign-in is on: AOC's application (client) id and/or App ID URI, e.g. api://aoc",
        ));
    }
    let authority = url::Url::parse(args.auth_authority.trim()).map_err(|e| {
        ConfigError::new(
            "AUTH_AUTHORITY",
            "auth-authority",
            format!("invalid value {:?}: {e}", args.auth_authority),
        )
    })?;
    let settings = AuthSettings {
        authority,
        role_names: RoleNames {
            reader: args.auth_role_reader.clone(),
            analyst: args.auth_role_analyst.clone(),
            admin: args.auth_role_admin.clone(),
        },
        web_client_id: args
            .auth_web_client_id
            .as_deref()
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(str::to_owned),
        web_scopes: comma_list(args.auth_web_scopes.as_deref()),
        ..AuthSettings::new(tenant_id, audiences)
    };
    settings.validate().map_err(|e| {
        let (var, flag) = match &e {
            SettingsError::TenantNotGuid(_) | SettingsError::ConsumerTenant => {
                ("AUTH_TENANT_ID", "auth-tenant-id")
            }
            SettingsError::NoAudience | SettingsError::BadAudience(_) => {
                ("AUTH_AUDIENCE", "auth-audience")
            }
            SettingsError::BadAuthority(_) => ("AUTH_AUTHORITY", "auth-authority"),
            SettingsError::BadRoleName(Role::Reader) => ("AUTH_ROLE_READER", "auth-role-reader"),
            SettingsError::BadRoleName(Role::Analyst) => ("AUTH_ROLE_ANALYST", "auth-role-analyst"),
            SettingsError::BadRoleName(Role::Admin) => ("AUTH_ROLE_ADMIN", "auth-role-admin"),
            // The skew is not configurable; its default is within the limit.
            SettingsError::SkewTooLarge(_) => ("AUTH_ENABLED", "auth-enabled"),
            SettingsError::BadWebClientId(_) => ("AUTH_WEB_CLIENT_ID", "auth-web-client-id"),
        };
        ConfigError::new(var, flag, e.to_string())
    })
}

/// The non-empty, trimmed items of a comma-separated setting.
fn comma_list(value: Option<&str>) -> Vec<String> {
    value
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TENANT: &str = "8f3c2a1e-5b7d-4e9a-9c21-6d4f0b7a3e58";
    const LOOPBACK: &str = "127.0.0.1:8080";
    const NETWORK: &str = "0.0.0.0:8080";

    fn args() -> AuthArgs {
        AuthArgs {
            auth_authority: "https://login.microsoftonline.com".into(),
            auth_role_reader: "AOC.Reader".into(),
            auth_role_analyst: "AOC.Analyst".into(),
            auth_role_admin: "AOC.Admin".into(),
            ..AuthArgs::default()
        }
    }

    fn configured() -> AuthArgs {
        AuthArgs {
            auth_tenant_id: Some(TENANT.into()),
            auth_audience: Some("api://aoc, 5a1b9c7e-3d2f-4e6a-8b0c-7f9e1d2a4c36".into()),
            ..args()
        }
    }

    fn config(args: &AuthArgs, bind: &str) -> Result<AuthConfig, ConfigError> {
        AuthConfig::from_args(args, bind.parse().expect("address"))
    }

    fn off(args: &AuthArgs, bind: &str) -> Option<Off> {
        match config(args, bind) {
            Ok(AuthConfig::Off(reason)) => Some(reason),
            _ => None,
        }
    }

    fn error_var(args: &AuthArgs, bind: &str) -> Option<&'static str> {
        config(args, bind).err().and_then(|e| e.var)
    }

    #[test]
    fn nothing_configured_on_loopback_is_local_mode() {
        assert_eq!(off(&args(), LOOPBACK), Some(Off::LocalMode));
        assert_eq!(off(&args(), "[::1]:8080"), Some(Off::LocalMode));
        let blank = AuthArgs {
            auth_enabled: Some(String::new()),
            auth_tenant_id: Some(" ".into()),
            ..args()
        };
        assert_eq!(off(&blank, LOOPBACK), Some(Off::LocalMode));
    }

    #[test]
    fn the_network_without_sign_in_is_refused() {
        for args in [
            args(),
            AuthArgs {
                auth_enabled: Some("false".into()),
                ..args()
            },
        ] {
            let error = config(&args, NETWORK).expect_err("refused");
            assert_eq!(error.var, Some("AUTH_ENABLED"));
            let message = error.to_string();
            assert!(message.contains("--insecure-no-auth"), "{message}");
            assert!(message.contains("0.0.0.0:8080"), "{message}");
            assert!(!message.contains('\n'));
        }
        assert_eq!(
            error_var(&args(), "192.168.1.20:8080"),
            Some("AUTH_ENABLED")
        );
    }

    #[test]
    fn sign_in_off_needs_loopback_or_the_insecure_flag() {
        let disabled = AuthArgs {
            auth_enabled: Some("false".into()),
            ..configured()
        };
        assert_eq!(off(&disabled, LOOPBACK), Some(Off::Disabled));
        let insecure = AuthArgs {
            insecure_no_auth: true,
            ..args()
        };
        assert_eq!(off(&insecure, NETWORK), Some(Off::Insecure));
        assert_eq!(off(&insecure, LOOPBACK), Some(Off::Insecure));
        let insecure_disabled = AuthArgs {
            auth_enabled: Some("false".into()),
            ..insecure.clone()
        };
        assert_eq!(off(&insecure_disabled, NETWORK), Some(Off::Insecure));
        let contradiction = AuthArgs {
            auth_enabled: Some("true".into()),
            ..insecure
        };
        assert_eq!(error_var(&contradiction, NETWORK), Some("AUTH_ENABLED"));
    }

    #[test]
    fn sign_in_on_needs_tenant_and_audience() {
        let enabled = AuthArgs {
            auth_enabled: Some("true".into()),
            ..args()
        };
        assert_eq!(error_var(&enabled, LOOPBACK), Some("AUTH_TENANT_ID"));
        let no_audience = AuthArgs {
            auth_tenant_id: Some(TENANT.into()),
            ..enabled
        };
        assert_eq!(error_var(&no_audience, NETWORK), Some("AUTH_AUDIENCE"));
        // Unset AUTH_ENABLED: a tenant or an audience alone means sign-in is wanted.
        let tenant_only = AuthArgs {
            auth_tenant_id: Some(TENANT.into()),
            ..args()
        };
        assert_eq!(error_var(&tenant_only, LOOPBACK), Some("AUTH_AUDIENCE"));
        let audience_only = AuthArgs {
            auth_audience: Some("api://aoc".into()),
            ..args()
        };
        assert_eq!(error_var(&audience_only, LOOPBACK), Some("AUTH_TENANT_ID"));
    }

    #[test]
    fn configured_sign_in_is_on_anywhere() {
        for bind in [LOOPBACK, NETWORK] {
            let Ok(AuthConfig::Entra(settings)) = config(&configured(), bind) else {
                panic!("sign-in on at {bind}");
            };
            assert_eq!(settings.tenant_id, TENANT);
            assert_eq!(
                settings.audiences,
                ["api://aoc", "5a1b9c7e-3d2f-4e6a-8b0c-7f9e1d2a4c36"]
            );
            assert_eq!(
                settings.authority.as_str(),
                "https://login.microsoftonline.com/"
            );
        }
        let explicit = AuthArgs {
            auth_enabled: Some("TRUE".into()),
            auth_authority: "https://login.microsoftonline.us".into(),
            auth_role_admin: "Aoc.Owner".into(),
            ..configured()
        };
        let Ok(AuthConfig::Entra(settings)) = config(&explicit, NETWORK) else {
            panic!("sign-in on");
        };
        assert_eq!(
            settings.authority.host_str(),
            Some("login.microsoftonline.us")
        );
        assert_eq!(settings.role_names.role("Aoc.Owner"), Some(Role::Admin));
    }

    #[test]
    fn bad_values_name_their_variable() {
        let cases = [
            (
                AuthArgs {
                    auth_enabled: Some("maybe".into()),
                    ..configured()
                },
                "AUTH_ENABLED",
            ),
            (
                AuthArgs {
                    auth_tenant_id: Some("contoso.onmicrosoft.com".into()),
                    ..configured()
                },
                "AUTH_TENANT_ID",
            ),
            (
                AuthArgs {
                    auth_tenant_id: Some("9188040d-6c67-4c5b-b112-36a304b66dad".into()),
                    ..configured()
                },
                "AUTH_TENANT_ID",
            ),
            (
                AuthArgs {
                    auth_audience: Some("aoc".into()),
                    ..configured()
                },
                "AUTH_AUDIENCE",
            ),
            (
                AuthArgs {
                    auth_authority: "login.microsoftonline.com".into(),
                    ..configured()
                },
                "AUTH_AUTHORITY",
            ),
            (
                AuthArgs {
                    auth_authority: "http://login.microsoftonline.com".into(),
                    ..configured()
                },
                "AUTH_AUTHORITY",
            ),
            (
                AuthArgs {
                    auth_role_analyst: "AOC.Admin".into(),
                    ..configured()
                },
                "AUTH_ROLE_ANALYST",
            ),
            (
                AuthArgs {
                    auth_role_reader: String::new(),
                    ..configured()
                },
                "AUTH_ROLE_READER",
            ),
        ];
        for (args, var) in cases {
            let error = config(&args, NETWORK).expect_err(var);
            assert_eq!(error.var, Some(var), "{error}");
            assert!(error.to_string().starts_with(var), "{error}");
        }
    }
}
