//! Settings, checked into types at start-up. A bad value is a [`ConfigError`] naming the
//! environment variable and flag, which `main` prints on one line before exiting with code 2.

use std::fmt;
use std::net::SocketAddr;

pub mod ai;
pub mod auth;
pub mod collect;
pub mod jobs;

use crate::cli::ServeArgs;

#[derive(Debug)]
pub struct ConfigError {
    /// The environment variable, for settings that have one.
    pub var: Option<&'static str>,
    pub flag: &'static str,
    pub message: String,
}

impl ConfigError {
    pub fn new(var: &'static str, flag: &'static str, message: impl Into<String>) -> Self {
        Self {
            var: Some(var),
            flag,
            message: message.into(),
        }
    }

    /// A command-line option without an environment variable.
    pub fn option(flag: &'static str, message: impl Into<String>) -> Self {
        Self {
            var: None,
            flag,
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.var {
            Some(var) => write!(f, "{var} (--{}): {}", self.flag, self.message),
            None => write!(f, "--{}: {}", self.flag, self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
    Auto,
}

impl LogFormat {
    pub fn parse(value: &str) -> Result<Self, ConfigError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "json" => Ok(Self::Json),
            "text" => Ok(Self::Text),
            "auto" | "" => Ok(Self::Auto),
            _ => Err(ConfigError::new(
                "LOG_FORMAT",
                "log-format",
                format!("invalid value {value:?}: expected json, text or auto"),
            )),
        }
    }
}

/// Which engine stores the events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// `DATABASE_URL`: may hold a password, so it prints with the password masked.
#[derive(Clone)]
pub struct DatabaseUrl {
    url: String,
    pub engine: Engine,
}

impl DatabaseUrl {
    pub fn parse(value: &str) -> Result<Self, ConfigError> {
        Self::parse_setting(value, "DATABASE_URL", "database-url")
    }

    /// `DATABASE_READ_URL` (empty: none), beside `primary`: a PostgreSQL streaming replica of
    /// it, which SQLite has no use for.
    pub fn parse_read(value: Option<&str>, primary: &Self) -> Result<Option<Self>, ConfigError> {
        let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        let read = Self::parse_setting(value, "DATABASE_READ_URL", "database-read-url")?;
        if read.engine != Engine::Postgres || primary.engine != Engine::Postgres {
            return Err(ConfigError::new(
                "DATABASE_READ_URL",
                "database-read-url",
                "names a PostgreSQL streaming replica of DATABASE_URL, so both must be postgres:// URLs \
                 (SQLite has no replicas: leave DATABASE_READ_URL unset)"
                    .to_owned(),
            ));
        }
        Ok(Some(read))
    }

    fn parse_setting(
        value: &str,
        env: &'static str,
        flag: &'static str,
    ) -> Result<Self, ConfigError> {
        let err = |message: String| ConfigError::new(env, flag, message);
        let parsed = url::Url::parse(value).map_err(|e| err(format!("not a URL ({e})")))?;
        let engine = match parsed.scheme() {
            "sqlite" => Engine::Sqlite,
            "postgres" | "postgresql" => Engine::Postgres,
            other => {
                return Err(err(format!(
                    "unsupported scheme {other:?}: use sqlite://PATH or postgres://USER@HOST/DATABASE"
                )));
            }
        };
        if engine == Engine::Sqlite
            && value
                .trim_start_matches("sqlite:")
                .trim_start_matches('/')
                .is_empty()
        {
            return Err(err(
                "sqlite:// needs a file path, e.g. sqlite://aoc.db".into()
            ));
        }
        Ok(Self {
            url: value.to_owned(),
            engine,
        })
    }

    /// The URL with its secret, for the driver only.
    pub fn expose(&self) -> &str {
        &self.url
    }

    /// The URL as it may be shown: password (in the authority or the query) replaced by `***`.
    pub fn redacted(&self) -> String {
        let Ok(mut url) = url::Url::parse(&self.url) else {
            return "***".to_owned();
        };
        if url.password().is_some() {
            let _ = url.set_password(Some("***"));
        }
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let secret =
                    k.eq_ignore_ascii_case("password") || k.eq_ignore_ascii_case("sslpassword");
                (
                    k.into_owned(),
                    if secret {
                        "***".to_owned()
                    } else {
                        v.into_owned()
                    },
                )
            })
            .collect();
        if !pairs.is_empty() {
            url.query_pairs_mut().clear().extend_pairs(pairs);
        }
        url.to_string()
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// `aoc serve`'s settings.
#[derive(Debug, Clone)]
pub struct ServeSettings {
    pub bind: SocketAddr,
    pub cors_origins: Vec<String>,
    pub retention_days: u32,
    pub audit_retention_days: u32,
    pub export_max_rows: u64,
    pub rate_limit_per_minute: u32,
    pub sample: bool,
    pub demo: bool,
    pub fetch_interval: std::time::Duration,
    /// The clientState Graph change notifications must carry; enables the webhook.
    pub webhook_client_state: Option<String>,
    pub webhook_public_url: Option<url::Url>,
    /// `None`: no tenant configured (and no demo), collection is off.
    pub collect: Option<collect::CollectConfig>,
    pub auth: auth::AuthConfig,
    /// `None`: the AI features are off.
    pub ai: Option<ai::AiConfig>,
    pub jobs: jobs::JobsConfig,
}

impl ServeSettings {
    pub fn from_args(args: &ServeArgs) -> Result<Self, ConfigError> {
        let bind: SocketAddr = args.bind.trim().parse().map_err(|_| {
            ConfigError::new(
                "AOC_BIND",
                "bind",
                format!(
                    "invalid value {:?}: expected ADDRESS:PORT such as 127.0.0.1:8080",
                    args.bind
                ),
            )
        })?;
        // Off the loopback interface, only with sign-in (or when told it is insecure).
        let ai = ai::AiConfig::from_args(&args.ai)?;
        let jobs = jobs::JobsConfig::from_args(&args.jobs, jobs::JobProcess::Serve)?;
        let auth = auth::AuthConfig::from_args(&args.auth, bind)?;
        let retention_days = retention_days(&args.retention_days)?;
        let cors_origins = parse_origins(&args.cors_origins)?;
        let fetch_interval = match args.fetch_interval_seconds.trim().parse::<u64>() {
            Ok(seconds) if (10..=86_400).contains(&seconds) => {
                std::time::Duration::from_secs(seconds)
            }
            _ => {
                return Err(ConfigError::new(
                    "FETCH_INTERVAL_SECONDS",
                    "fetch-interval-seconds",
                    format!(
                        "invalid value {:?}: expected seconds from 10 to 86400",
                        args.fetch_interval_seconds
                    ),
                ));
            }
        };
        let webhook_client_state = match args.webhook_client_state.as_deref() {
            None | Some("") => None,
            // Graph accepts at most 128 characters; a short one is guessable.
            Some(state) if (16..=128).contains(&state.chars().count()) => Some(state.to_owned()),
            Some(_) => {
                return Err(ConfigError::new(
                    "WEBHOOK_CLIENT_STATE",
                    "webhook-client-state",
                    "must be 16 to 128 characters (Graph's limit is 128)",
                ));
            }
        };
        let webhook_public_url = match args.webhook_public_url.as_deref() {
            None | Some("") => None,
            Some(value) => {
                let url = url::Url::parse(value)
                    .ok()
                    .filter(|u| u.scheme() == "https" && u.host().is_some());
                let Some(url) = url else {
                    return Err(ConfigError::new(
                        "WEBHOOK_PUBLIC_URL",
                        "webhook-public-url",
                        format!("invalid value {value:?}: Graph delivers only to https:// URLs"),
                    ));
                };
                if webhook_client_state.is_none() {
                    return Err(ConfigError::new(
                        "WEBHOOK_CLIENT_STATE",
                        "webhook-client-state",
                        "WEBHOOK_PUBLIC_URL needs a WEBHOOK_CLIENT_STATE to verify notifications",
                    ));
                }
                Some(url)
            }
        };
        let audit_retention_days = parse_number(
            &args.audit_retention_days,
            1..=36_500,
            ("AUDIT_RETENTION_DAYS", "audit-retention-days"),
            "a whole number of days from 1 to 36500",
        )?;
        let export_max_rows = parse_number(
            &args.export_max_rows,
            1..=100_000_000,
            ("EXPORT_MAX_ROWS", "export-max-rows"),
            "a whole number of rows from 1 to 100000000",
        )?;
        let rate_limit_per_minute = parse_number(
            &args.rate_limit_per_minute,
            0..=100_000,
            ("RATE_LIMIT_PER_MINUTE", "rate-limit-per-minute"),
            "a whole number from 0 (no limit) to 100000",
        )?;
        let collect = collect::CollectConfig::from_args(&args.collect)?;
        if args.demo && collect.is_some() {
            return Err(ConfigError::option(
                "demo",
                "--demo collects from the built-in simulator; unset TENANT_ID / AOC_TENANTS_FILE to use it",
            ));
        }
        Ok(Self {
            bind,
            cors_origins,
            retention_days,
            audit_retention_days: audit_retention_days as u32,
            export_max_rows,
            rate_limit_per_minute: rate_limit_per_minute as u32,
            sample: args.sample,
            demo: args.demo,
            fetch_interval,
            webhook_client_state,
            webhook_public_url,
            collect,
            auth,
            ai,
            jobs,
        })
    }
}

/// A whole number within `range`, or an error naming the variable and the flag.
fn parse_number(
    value: &str,
    range: std::ops::RangeInclusive<u64>,
    (variable, flag): (&'static str, &'static str),
    expected: &str,
) -> Result<u64, ConfigError> {
    match value.trim().parse::<u64>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(ConfigError::new(
            variable,
            flag,
            format!("invalid value {value:?}: expected {expected}"),
        )),
    }
}

fn parse_origins(value: &str) -> Result<Vec<String>, ConfigError> {
    let origins: Vec<String> = value
        .split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(str::to_owned)
        .collect();
    for origin in &origins {
        let valid = origin == "*"
            || url::Url::parse(origin).is_ok_and(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host().is_some()
                    && u.path() == "/"
                    && !origin.ends_with('/')
            });
        if !valid {
            return Err(ConfigError::new(
                "CORS_ORIGINS",
                "cors-origins",
                format!(
                    "invalid origin {origin:?}: expected * or scheme://host[:port], e.g. https://aoc.contoso.com"
                ),
            ));
        }
    }
    if origins.len() > 1 && origins.iter().any(|o| o == "*") {
        return Err(ConfigError::new(
            "CORS_ORIGINS",
            "cors-origins",
            "* cannot be combined with other origins",
        ));
    }
    Ok(origins)
}

/// `RETENTION_DAYS` / `--retention-days`: a whole number of days from 1 to 36500.
///
/// # Errors
/// Anything else, naming the setting.
pub fn retention_days(value: &str) -> Result<u32, ConfigError> {
    match value.trim().parse::<u32>() {
        Ok(days) if (1..=36_500).contains(&days) => Ok(days),
        _ => Err(ConfigError::new(
            "RETENTION_DAYS",
            "retention-days",
            format!("invalid value {value:?}: expected a whole number of days from 1 to 36500"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve_args(bind: &str, retention: &str, cors: &str) -> ServeArgs {
        ServeArgs {
            bind: bind.into(),
            retention_days: retention.into(),
            audit_retention_days: "365".into(),
            export_max_rows: "1000000".into(),
            rate_limit_per_minute: "60".into(),
            cors_origins: cors.into(),
            sample: false,
            demo: false,
            fetch_interval_seconds: "300".into(),
            webhook_client_state: None,
            webhook_public_url: None,
            auth: crate::cli::AuthArgs {
                auth_authority: "https://login.microsoftonline.com".into(),
                auth_role_reader: "AOC.Reader".into(),
                auth_role_analyst: "AOC.Analyst".into(),
                auth_role_admin: "AOC.Admin".into(),
                ..Default::default()
            },
            ai: crate::cli::AiArgs::default(),
            jobs: crate::cli::JobArgs::default(),
            collect: crate::cli::CollectArgs {
                azure_cloud: "public".into(),
                backfill_hours: "24".into(),
                overlap_minutes: "30".into(),
                settle_minutes: "2".into(),
                http_timeout_seconds: "60".into(),
                http_max_attempts: "6".into(),
                lease_seconds: "90".into(),
                ..Default::default()
            },
        }
    }

    #[test]
    fn a_read_replica_is_a_postgresql_url_beside_a_postgresql_primary() {
        let primary = DatabaseUrl::parse("postgres://aoc@primary/aoc").expect("valid");
        let read = DatabaseUrl::parse_read(Some("postgres://aoc:s3cr3t@replica/aoc"), &primary)
            .expect("valid")
            .expect("set");
        assert_eq!(read.engine, Engine::Postgres);
        assert!(!read.to_string().contains("s3cr3t"));
        assert!(
            DatabaseUrl::parse_read(Some(" "), &primary)
                .expect("empty is unset")
                .is_none()
        );
        let sqlite = DatabaseUrl::parse("sqlite://aoc.db").expect("valid");
        for (value, primary) in [
            ("postgres://aoc@replica/aoc", &sqlite),
            ("sqlite://copy.db", &primary),
            ("not a url", &primary),
        ] {
            let err = DatabaseUrl::parse_read(Some(value), primary).expect_err(value);
            assert!(err.to_string().starts_with("DATABASE_READ_URL"), "{err}");
        }
    }

    #[test]
    fn database_url_never_shows_its_password() {
        let url = DatabaseUrl::parse(
            "postgres://aoc:s3cr3t@db.contoso.com:5432/aoc?sslmode=require&password=other",
        )
        .expect("valid");
        assert_eq!(url.engine, Engine::Postgres);
        for shown in [url.redacted(), format!("{url}"), format!("{url:?}")] {
            assert!(
                !shown.contains("s3cr3t") && !shown.contains("other"),
                "{shown}"
            );
            assert!(shown.contains("db.contoso.com"), "{shown}");
        }
        assert!(url.expose().contains("s3cr3t"));
    }

    #[test]
    fn bad_values_name_their_variable() {
        let cases = [
            (DatabaseUrl::parse("not a url").err(), "DATABASE_URL"),
            (DatabaseUrl::parse("mysql://x/y").err(), "DATABASE_URL"),
            (
                ServeSettings::from_args(&serve_args("127.0.0.1:8080", "abc", "")).err(),
                "RETENTION_DAYS",
            ),
            (
                ServeSettings::from_args(&serve_args("127.0.0.1:8080", "0", "")).err(),
                "RETENTION_DAYS",
            ),
            // Off loopback without sign-in.
            (
                ServeSettings::from_args(&serve_args("0.0.0.0:8080", "90", "")).err(),
                "AUTH_ENABLED",
            ),
            (
                ServeSettings::from_args(&serve_args("localhost", "90", "")).err(),
                "AOC_BIND",
            ),
            (
                ServeSettings::from_args(&serve_args("127.0.0.1:8080", "90", "ftp://x")).err(),
                "CORS_ORIGINS",
            ),
            (
                ServeSettings::from_args(&serve_args(
                    "127.0.0.1:8080",
                    "90",
                    "*,https://a.example",
                ))
                .err(),
                "CORS_ORIGINS",
            ),
            (LogFormat::parse("yaml").err(), "LOG_FORMAT"),
        ];
        for (error, var) in cases {
            let error = error.expect("an error");
            assert_eq!(error.var, Some(var));
            assert!(error.to_string().starts_with(var), "{error}");
            assert!(!error.to_string().contains('\n'));
        }
    }

    #[test]
    fn good_values_parse() {
        let s = ServeSettings::from_args(&serve_args(
            "[::1]:9000",
            "30",
            "https://aoc.contoso.com, http://localhost:5173",
        ))
        .expect("valid");
        assert_eq!(s.retention_days, 30);
        assert!(matches!(
            s.auth,
            auth::AuthConfig::Off(auth::Off::LocalMode)
        ));
        assert_eq!(
            s.cors_origins,
            ["https://aoc.contoso.com", "http://localhost:5173"]
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite://aoc.db").expect("valid").engine,
            Engine::Sqlite
        );
    }
}
