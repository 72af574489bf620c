//! Collection settings: the tenants, their credentials, the Microsoft endpoints and the window
//! rules, checked at start-up with errors naming the variable.

use std::time::Duration;

use aoc_sources::m365::{
    AppIdentity, AzureCloud, CollectSettings, CredentialSource, Endpoints, HttpPolicy, Secret,
    SourceKind, TenantConfig, load_tenants_file, parse_sources, parse_tenant_id,
};

use super::ConfigError;
use crate::cli::CollectArgs;

/// Everything a [`aoc_sources::m365::Collector`] needs.
#[derive(Debug, Clone)]
pub struct CollectConfig {
    pub endpoints: Endpoints,
    pub tenants: Vec<TenantConfig>,
    pub settings: CollectSettings,
    pub policy: HttpPolicy,
}

fn number<T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy>(
    var: &'static str,
    flag: &'static str,
    value: &str,
    min: T,
    max: T,
    unit: &str,
) -> Result<T, ConfigError> {
    match value.trim().parse::<T>() {
        Ok(n) if n >= min && n <= max => Ok(n),
        _ => Err(ConfigError::new(
            var,
            flag,
            format!("invalid value {value:?}: expected {unit} from {min} to {max}"),
        )),
    }
}

impl CollectConfig {
    /// `None` when no tenant is configured (collection off).
    pub fn from_args(args: &CollectArgs) -> Result<Option<Self>, ConfigError> {
        let cloud: AzureCloud = args
            .azure_cloud
            .parse()
            .map_err(|e| ConfigError::new("AZURE_CLOUD", "azure-cloud", e))?;
        let endpoints = Endpoints::new(
            cloud,
            args.login_base_url.as_deref(),
            args.graph_base_url.as_deref(),
            args.management_base_url.as_deref(),
        )
        .map_err(|(var, message)| ConfigError::new(var, flag_of(var), message))?;
        let sources = match &args.sources {
            Some(list) => {
                let names: Vec<String> = list
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
                let kinds = parse_sources("AOC_SOURCES", &names)
                    .map_err(|e| ConfigError::new("AOC_SOURCES", "sources", e.message))?;
                if kinds.is_empty() {
                    return Err(ConfigError::new(
                        "AOC_SOURCES",
                        "sources",
                        "no source named",
                    ));
                }
                kinds
            }
            None => SourceKind::ALL
                .into_iter()
                .filter(|k| {
                    !matches!(k, SourceKind::Management(_)) || endpoints.management.is_some()
                })
                .collect(),
        };
        let backfill: u32 = number(
            "BACKFILL_HOURS",
            "backfill-hours",
            &args.backfill_hours,
            1,
            720,
            "hours",
        )?;
        let overlap: u32 = number(
            "FETCH_OVERLAP_MINUTES",
            "overlap-minutes",
            &args.overlap_minutes,
            0,
            1440,
            "minutes",
        )?;
        let settle: u32 = number(
            "FETCH_SETTLE_MINUTES",
            "settle-minutes",
            &args.settle_minutes,
            0,
            120,
            "minutes",
        )?;
        let lease: u64 = number(
            "FETCH_LEASE_SECONDS",
            "lease-seconds",
            &args.lease_seconds,
            3,
            3600,
            "seconds",
        )?;
        let timeout: u64 = number(
            "HTTP_TIMEOUT_SECONDS",
            "http-timeout-seconds",
            &args.http_timeout_seconds,
            1,
            600,
            "seconds",
        )?;
        let attempts: u32 = number(
            "HTTP_MAX_ATTEMPTS",
            "http-max-attempts",
            &args.http_max_attempts,
            1,
            20,
            "attempts",
        )?;
        let tenants = match (&args.tenants_file, &args.tenant_id) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::new(
                    "AOC_TENANTS_FILE",
                    "tenants-file",
                    "set either AOC_TENANTS_FILE or TENANT_ID, not both",
                ));
            }
            (Some(path), None) => load_tenants_file(path, |var| std::env::var(var).ok(), &sources)
                .map_err(|e| ConfigError::new("AOC_TENANTS_FILE", "tenants-file", e.to_string()))?,
            (None, Some(tenant)) => vec![single_tenant(args, tenant, sources)?],
            (None, None) => {
                if args.client_id.is_some() || args.client_secret.is_some() {
                    return Err(ConfigError::new(
                        "TENANT_ID",
                        "tenant-id",
                        "CLIENT_ID / CLIENT_SECRET are set but TENANT_ID is not",
                    ));
                }
                return Ok(None);
            }
        };
        Ok(Some(Self {
            endpoints,
            tenants,
            settings: CollectSettings {
                overlap: Duration::from_secs(u64::from(overlap) * 60),
                settle: Duration::from_secs(u64::from(settle) * 60),
                backfill: Duration::from_secs(u64::from(backfill) * 3600),
                lease_ttl: Duration::from_secs(lease),
                ..CollectSettings::default()
            },
            policy: HttpPolicy {
                timeout: Duration::from_secs(timeout),
                connect_timeout: Duration::from_secs(timeout.min(10)),
                max_attempts: attempts,
                ..HttpPolicy::default()
            },
        }))
    }
}

fn flag_of(var: &str) -> &'static str {
    match var {
        "LOGIN_BASE_URL" => "login-base-url",
        "GRAPH_BASE_URL" => "graph-base-url",
        _ => "management-base-url",
    }
}

fn single_tenant(
    args: &CollectArgs,
    tenant: &str,
    sources: Vec<SourceKind>,
) -> Result<TenantConfig, ConfigError> {
    let id = parse_tenant_id("TENANT_ID", tenant)
        .map_err(|e| ConfigError::new("TENANT_ID", "tenant-id", e.message))?;
    let client_id = args.client_id.as_deref().ok_or_else(|| {
        ConfigError::new(
            "CLIENT_ID",
            "client-id",
            "missing: TENANT_ID needs the app registration's client id",
        )
    })?;
    uuid_check(client_id).map_err(|m| ConfigError::new("CLIENT_ID", "client-id", m))?;
    let credential = CredentialSource {
        client_secret: args
            .client_secret
            .clone()
            .filter(|s| !s.is_empty())
            .map(Secret::new),
        certificate_path: args.client_certificate_path.clone(),
        ..CredentialSource::default()
    }
    .load("CLIENT_SECRET / CLIENT_CERTIFICATE_PATH")
    .map_err(|e| ConfigError::new("CLIENT_SECRET", "client-secret", e.to_string()))?;
    let publisher_id = match &args.publisher_id {
        Some(p) => parse_tenant_id("PUBLISHER_IDENTIFIER", p)
            .map_err(|e| ConfigError::new("PUBLISHER_IDENTIFIER", "publisher-id", e.message))?
            .as_str()
            .to_owned(),
        None => id.as_str().to_owned(),
    };
    Ok(TenantConfig {
        app: AppIdentity {
            tenant_id: id.as_str().to_owned(),
            client_id: client_id.to_owned(),
            credential,
        },
        id,
        name: None,
        sources,
        publisher_id,
    })
}

fn uuid_check(value: &str) -> Result<(), String> {
    if value.len() == 36
        && value.chars().enumerate().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
    {
        Ok(())
    } else {
        Err(format!("{value:?} is not an application id (a GUID)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "8f3c2a1e-5b7d-4e9a-9c21-6d4f0b7a3e58";
    const APP: &str = "0a1b2c3d-0000-4000-8000-000000000001";

    fn args() -> CollectArgs {
        CollectArgs {
            azure_cloud: "public".into(),
            backfill_hours: "24".into(),
            overlap_minutes: "30".into(),
            settle_minutes: "2".into(),
            http_timeout_seconds: "60".into(),
            http_max_attempts: "6".into(),
            lease_seconds: "90".into(),
            ..CollectArgs::default()
        }
    }

    #[test]
    fn no_tenant_means_no_collection() {
        assert!(CollectConfig::from_args(&args()).expect("valid").is_none());
    }

    #[test]
    fn one_tenant_from_the_environment() {
        let mut a = args();
        a.tenant_id = Some(T.to_uppercase());
        a.client_id = Some(APP.into());
        a.client_secret = Some("s3cr3t".into());
        a.sources = Some("sign_ins, o365.Audit.Exchange".into());
        let config = CollectConfig::from_args(&a)
            .expect("valid")
            .expect("configured");
        assert_eq!(config.tenants[0].id.as_str(), T);
        assert_eq!(config.tenants[0].sources.len(), 2);
        assert!(!format!("{config:?}").contains("s3cr3t"));
    }

    #[test]
    fn mistakes_name_the_variable() {
        let with = |f: &dyn Fn(&mut CollectArgs)| {
            let mut a = args();
            a.tenant_id = Some(T.into());
            a.client_id = Some(APP.into());
            a.client_secret = Some("x".into());
            f(&mut a);
            CollectConfig::from_args(&a).expect_err("invalid").var
        };
        assert_eq!(
            with(&|a| a.tenant_id = Some("contoso".into())),
            Some("TENANT_ID")
        );
        assert_eq!(with(&|a| a.client_id = None), Some("CLIENT_ID"));
        assert_eq!(with(&|a| a.client_secret = None), Some("CLIENT_SECRET"));
        assert_eq!(
            with(&|a| a.azure_cloud = "mars".into()),
            Some("AZURE_CLOUD")
        );
        assert_eq!(
            with(&|a| a.graph_base_url = Some("nope".into())),
            Some("GRAPH_BASE_URL")
        );
        assert_eq!(
            with(&|a| a.sources = Some("mail".into())),
            Some("AOC_SOURCES")
        );
        assert_eq!(
            with(&|a| a.backfill_hours = "0".into()),
            Some("BACKFILL_HOURS")
        );
        assert_eq!(
            with(&|a| a.http_max_attempts = "x".into()),
            Some("HTTP_MAX_ATTEMPTS")
        );
        assert_eq!(
            with(&|a| a.tenants_file = Some("/nonexistent.toml".into())),
            Some("AOC_TENANTS_FILE")
        );
        let mut a = args();
        a.client_id = Some(APP.into());
        assert_eq!(
            CollectConfig::from_args(&a).expect_err("no tenant").var,
            Some("TENANT_ID")
        );
    }
}
