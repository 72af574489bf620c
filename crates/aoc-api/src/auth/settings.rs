//! What sign-in with Entra ID needs to know: which tenant, which audiences, which app-role
//! names mean which AOC role, and how much clock skew to forgive.

use std::time::Duration;

use crate::auth::principal::Role;

/// The public cloud's sign-in host.
pub const DEFAULT_AUTHORITY: &str = "https://login.microsoftonline.com";
/// Microsoft's consumer (personal account) tenant: never a tenant of AOC.
pub const CONSUMER_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";
/// Forgiven difference between our clock and Entra ID's.
pub const DEFAULT_CLOCK_SKEW: Duration = Duration::from_secs(120);
/// Largest accepted skew: Microsoft's own libraries default to 5 minutes.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(300);

/// The app-role values (in the token's `roles` claim) that grant each AOC role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleNames {
    pub reader: String,
    pub analyst: String,
    pub admin: String,
}

impl Default for RoleNames {
    fn default() -> Self {
        Self {
            reader: "AOC.Reader".into(),
            analyst: "AOC.Analyst".into(),
            admin: "AOC.Admin".into(),
        }
    }
}

impl RoleNames {
    /// The AOC role an app-role value grants; app-role values compare exactly, as Entra ID
    /// writes them.
    pub fn role(&self, value: &str) -> Option<Role> {
        [
            (&self.reader, Role::Reader),
            (&self.analyst, Role::Analyst),
            (&self.admin, Role::Admin),
        ]
        .into_iter()
        .find_map(|(name, role)| (name == value).then_some(role))
    }

    /// The app-role value that grants `role`.
    pub fn name(&self, role: Role) -> &str {
        match role {
            Role::Reader => &self.reader,
            Role::Analyst => &self.analyst,
            Role::Admin => &self.admin,
        }
    }
}

/// Sign-in settings, built by the binary from its configuration and checked with
/// [`AuthSettings::validate`] before use.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// Entra ID's sign-in host: `https://login.microsoftonline.com`, or a sovereign cloud's.
    pub authority: url::Url,
    /// The tenant whose users may sign in: a GUID.
    pub tenant_id: String,
    /// Accepted `aud` values: AOC's client id and/or its App ID URI (e.g. `api://aoc`).
    pub audiences: Vec<String>,
    pub role_names: RoleNames,
    /// Forgiven clock difference for `exp` and `nbf`, at most [`MAX_CLOCK_SKEW`].
    pub clock_skew: Duration,
    /// The web dashboard's client id (a single-page application registration). `None`: the first
    /// audience that is a GUID, i.e. the dashboard and the API share one registration.
    pub web_client_id: Option<String>,
    /// The scopes the dashboard asks for. Empty: `{App ID URI or client id}/.default`.
    pub web_scopes: Vec<String>,
}

/// A sign-in setting AOC cannot work with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error(
        "{0:?} is not a tenant id: expected a GUID such as 8f3c2a1e-5b7d-4e9a-9c21-6d4f0b7a3e58"
    )]
    TenantNotGuid(String),
    #[error("the Microsoft consumer tenant (personal accounts) cannot sign in to AOC")]
    ConsumerTenant,
    #[error("no audience: give AOC's application (client) id and/or its App ID URI")]
    NoAudience,
    #[error("audience {0:?} is neither a GUID nor a URI such as api://aoc")]
    BadAudience(String),
    #[error("{0:?} is not an authority: expected https://HOST such as {DEFAULT_AUTHORITY}")]
    BadAuthority(String),
    #[error("the {0} role name is empty or the same as another role's")]
    BadRoleName(Role),
    #[error("clock skew of {0} s is more than 300 s")]
    SkewTooLarge(u64),
    #[error("{0:?} is not a client id: expected the dashboard's application (client) id, a GUID")]
    BadWebClientId(String),
}

impl AuthSettings {
    /// Settings for `tenant_id` and `audiences`, with the defaults for everything else.
    pub fn new(tenant_id: impl Into<String>, audiences: Vec<String>) -> Self {
        Self {
            authority: default_authority(),
            tenant_id: tenant_id.into(),
            audiences,
            role_names: RoleNames::default(),
            clock_skew: DEFAULT_CLOCK_SKEW,
            web_client_id: None,
            web_scopes: Vec::new(),
        }
    }

    /// Checks every field and normalizes the tenant id to lower case (how Entra ID writes it
    /// in `tid` and `iss`).
    ///
    /// # Errors
    /// The first setting that is unusable.
    pub fn validate(mut self) -> Result<Self, SettingsError> {
        self.tenant_id = parse_tenant(&self.tenant_id)?;
        let mut audiences: Vec<String> = Vec::new();
        for audience in self.audiences.iter().map(|a| a.trim()) {
            if !audience.is_empty() && !audiences.iter().any(|a| a == audience) {
                audiences.push(audience.to_owned());
            }
        }
        self.audiences = audiences;
        if self.audiences.is_empty() {
            return Err(SettingsError::NoAudience);
        }
        if let Some(bad) = self.audiences.iter().find(|a| !valid_audience(a)) {
            return Err(SettingsError::BadAudience(bad.clone()));
        }
        check_authority(&self.authority)?;
        for role in Role::ALL {
            let name = self.role_names.name(role);
            let taken = Role::ALL
                .iter()
                .filter(|other| self.role_names.name(**other) == name)
                .count();
            if name.trim().is_empty() || name.trim() != name || taken > 1 {
                return Err(SettingsError::BadRoleName(role));
            }
        }
        if self.clock_skew > MAX_CLOCK_SKEW {
            return Err(SettingsError::SkewTooLarge(self.clock_skew.as_secs()));
        }
        if let Some(id) = &self.web_client_id
            && !is_guid(id)
        {
            return Err(SettingsError::BadWebClientId(id.clone()));
        }
        self.web_scopes.retain(|s| !s.trim().is_empty());
        Ok(self)
    }

    /// The client id the web dashboard signs in with: the configured one, else the first
    /// audience that is a GUID (one registration for the API and the dashboard). `None`: the
    /// dashboard cannot sign in until one is configured.
    pub fn web_client_id(&self) -> Option<&str> {
        self.web_client_id.as_deref().or_else(|| {
            self.audiences
                .iter()
                .map(String::as_str)
                .find(|a| is_guid(a))
        })
    }

    /// The scopes the dashboard asks a token for: the configured ones, else `.default` of the
    /// API (its App ID URI when it has one, else its client id), which yields a token whose
    /// audience AOC accepts.
    pub fn web_scopes(&self) -> Vec<String> {
        if !self.web_scopes.is_empty() {
            return self.web_scopes.clone();
        }
        let resource = self
            .audiences
            .iter()
            .find(|a| !is_guid(a))
            .or_else(|| self.audiences.first());
        resource
            .map(|r| vec![format!("{}/.default", r.trim_end_matches('/'))])
            .unwrap_or_default()
    }

    /// `{authority}/{tenant}` without a trailing slash.
    pub fn tenant_base(&self) -> String {
        format!(
            "{}/{}",
            self.authority.as_str().trim_end_matches('/'),
            self.tenant_id
        )
    }
}

pub fn default_authority() -> url::Url {
    url::Url::parse(DEFAULT_AUTHORITY).expect("a constant URL")
}

/// A tenant GUID in its hyphenated form, lower case.
fn parse_tenant(value: &str) -> Result<String, SettingsError> {
    let value = value.trim();
    let guid = (value.len() == 36)
        .then(|| uuid::Uuid::try_parse(value).ok())
        .flatten()
        .ok_or_else(|| SettingsError::TenantNotGuid(value.to_owned()))?;
    let tenant = guid.hyphenated().to_string();
    if tenant == CONSUMER_TENANT {
        return Err(SettingsError::ConsumerTenant);
    }
    Ok(tenant)
}

/// v2 tokens carry the client id (a GUID); v1 tokens the client id or the App ID URI used to
/// ask for the token (`api://…`, `https://…`).
fn is_guid(value: &str) -> bool {
    value.len() == 36 && uuid::Uuid::try_parse(value).is_ok()
}

fn valid_audience(value: &str) -> bool {
    is_guid(value) || url::Url::parse(value).is_ok_and(|u| u.host().is_some())
}

/// HTTPS, or HTTP to a loopback address (tests and local stand-ins), with a host and no
/// query or fragment.
fn check_authority(url: &url::Url) -> Result<(), SettingsError> {
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    };
    let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && loopback);
    if !scheme_ok || url.host().is_none() || url.query().is_some() || url.fragment().is_some() {
        return Err(SettingsError::BadAuthority(url.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TENANT: &str = "8f3c2a1e-5b7d-4e9a-9c21-6d4f0b7a3e58";

    fn settings() -> AuthSettings {
        AuthSettings::new(TENANT, vec!["api://aoc".into()])
    }

    #[test]
    fn good_settings_are_normalized() {
        let mut s = settings();
        s.tenant_id = TENANT.to_uppercase();
        s.audiences = vec![
            " api://aoc ".into(),
            "5a1b9c7e-3d2f-4e6a-8b0c-7f9e1d2a4c36".into(),
            String::new(),
        ];
        let s = s.validate().expect("valid");
        assert_eq!(s.tenant_id, TENANT);
        assert_eq!(
            s.audiences,
            ["api://aoc", "5a1b9c7e-3d2f-4e6a-8b0c-7f9e1d2a4c36"]
        );
        assert_eq!(
            s.tenant_base(),
            format!("https://login.microsoftonline.com/{TENANT}")
        );
        assert_eq!(s.clock_skew, Duration::from_secs(120));
        assert_eq!(s.role_names.role("AOC.Admin"), Some(Role::Admin));
        assert_eq!(s.role_names.role("aoc.admin"), None);
    }

    #[test]
    fn bad_settings_are_refused() {
        let cases: Vec<(AuthSettings, SettingsError)> = vec![
            (
                AuthSettings::new("contoso.onmicrosoft.com", vec!["api://aoc".into()]),
                SettingsError::TenantNotGuid("contoso.onmicrosoft.com".into()),
            ),
            (
                AuthSettings::new("common", vec!["api://aoc".into()]),
                SettingsError::TenantNotGuid("common".into()),
            ),
            (
                AuthSettings::new(CONSUMER_TENANT, vec!["api://aoc".into()]),
                SettingsError::ConsumerTenant,
            ),
            (
                AuthSettings::new(TENANT, vec![" ".into()]),
                SettingsError::NoAudience,
            ),
            (
                AuthSettings::new(TENANT, vec!["aoc".into()]),
                SettingsError::BadAudience("aoc".into()),
            ),
            (
                AuthSettings {
                    clock_skew: Duration::from_secs(301),
                    ..settings()
                },
                SettingsError::SkewTooLarge(301),
            ),
            (
                AuthSettings {
                    authority: url::Url::parse("http://login.example.com").expect("url"),
                    ..settings()
                },
                SettingsError::BadAuthority("http://login.example.com/".into()),
            ),
            (
                AuthSettings {
                    role_names: RoleNames {
                        analyst: "AOC.Reader".into(),
                        ..RoleNames::default()
                    },
                    ..settings()
                },
                SettingsError::BadRoleName(Role::Reader),
            ),
            (
                AuthSettings {
                    role_names: RoleNames {
                        admin: String::new(),
                        ..RoleNames::default()
                    },
                    ..settings()
                },
                SettingsError::BadRoleName(Role::Admin),
            ),
        ];
        for (settings, expected) in cases {
            assert_eq!(settings.validate().err(), Some(expected));
        }
        let loopback = AuthSettings {
            authority: url::Url::parse("http://127.0.0.1:9").expect("url"),
            ..settings()
        };
        assert!(loopback.validate().is_ok());
    }
}
