//! The tenants AOC collects from: one from the environment, or many from a TOML file (an MSP's
//! case). Secrets are best referenced by environment variable name (`client_secret_env`) so the
//! file can be shared and versioned.
//!
//! ```toml
//! # defaults for every [[tenants]] entry
//! client_id = "00000000-0000-0000-0000-000000000000"
//! client_secret_env = "AOC_CLIENT_SECRET"
//! sources = ["graph.directory_audits", "graph.sign_ins", "o365.Audit.Exchange"]
//!
//! [[tenants]]
//! id = "8f3c2a1e-5b7d-4e9a-9c21-6d4f0b7a3e58"
//! name = "Contoso"
//!
//! [[tenants]]
//! id = "1b2c3d4e-0000-4000-8000-00000000beef"
//! name = "Fabrikam"
//! client_certificate_path = "/etc/aoc/fabrikam.pem"
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use aoc_model::TenantId;

use super::identity::{AppIdentity, AssertionStyle, Certificate, Credential, Secret};
use super::source::SourceKind;

/// One tenant to collect from.
#[derive(Debug, Clone)]
pub struct TenantConfig {
    pub id: TenantId,
    pub name: Option<String>,
    pub app: AppIdentity,
    pub sources: Vec<SourceKind>,
    /// `PublisherIdentifier` of Management API calls: the tenant of the app's publisher, which
    /// gives AOC its own throttling quota.
    pub publisher_id: String,
}

/// A configuration mistake, naming where it is.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{field}: {message}")]
pub struct TenantConfigError {
    pub field: String,
    pub message: String,
}

fn err(field: impl Into<String>, message: impl Into<String>) -> TenantConfigError {
    TenantConfigError {
        field: field.into(),
        message: message.into(),
    }
}

/// Tenant ids must be GUIDs: the Management API wants the GUID in its URLs.
///
/// # Errors
/// When `value` is not a GUID.
pub fn parse_tenant_id(field: &str, value: &str) -> Result<TenantId, TenantConfigError> {
    uuid::Uuid::parse_str(value.trim())
        .map(|u| TenantId::new(u.hyphenated().to_string()))
        .map_err(|_| err(field, format!("{value:?} is not a tenant id (a GUID)")))
}

/// Where an app's credential comes from.
#[derive(Debug, Clone, Default)]
pub struct CredentialSource {
    pub client_secret: Option<Secret>,
    pub certificate_path: Option<PathBuf>,
    pub assertion_style: AssertionStyle,
}

impl CredentialSource {
    /// # Errors
    /// Neither or both given, or an unreadable certificate; `field` prefixes the message.
    pub fn load(&self, field: &str) -> Result<Credential, TenantConfigError> {
        match (&self.client_secret, &self.certificate_path) {
            (Some(_), Some(_)) => Err(err(
                field,
                "give either a client secret or a certificate, not both",
            )),
            (Some(secret), None) => Ok(Credential::Secret(secret.clone())),
            (None, Some(path)) => load_certificate(field, path, self.assertion_style),
            (None, None) => Err(err(
                field,
                "no credential: set a client secret or a certificate path",
            )),
        }
    }
}

fn load_certificate(
    field: &str,
    path: &Path,
    style: AssertionStyle,
) -> Result<Credential, TenantConfigError> {
    let pem = std::fs::read_to_string(path)
        .map_err(|e| err(field, format!("cannot read {}: {e}", path.display())))?;
    let cert = Certificate::from_pem(&pem, style)
        .map_err(|e| err(field, format!("{}: {e}", path.display())))?;
    Ok(Credential::Certificate(Arc::new(cert)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEntry {
    id: Option<String>,
    name: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    client_secret_env: Option<String>,
    client_certificate_path: Option<PathBuf>,
    publisher_id: Option<String>,
    sources: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TenantsFile {
    #[serde(flatten)]
    defaults: FileDefaults,
    #[serde(default)]
    tenants: Vec<FileEntry>,
}

#[derive(Debug, Deserialize, Default)]
struct FileDefaults {
    client_id: Option<String>,
    client_secret: Option<String>,
    client_secret_env: Option<String>,
    client_certificate_path: Option<PathBuf>,
    publisher_id: Option<String>,
    sources: Option<Vec<String>>,
}

/// Parses `sources` names.
///
/// # Errors
/// Names the unknown source.
pub fn parse_sources(field: &str, names: &[String]) -> Result<Vec<SourceKind>, TenantConfigError> {
    let mut kinds = Vec::new();
    for name in names {
        let kind: SourceKind = name.parse().map_err(|e: String| err(field, e))?;
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    Ok(kinds)
}

/// Reads a tenants file. `env` looks up `client_secret_env` names (the process environment in
/// production).
///
/// # Errors
/// The first mistake, with its place (`tenants[2].id`).
pub fn load_tenants_file(
    path: &Path,
    env: impl Fn(&str) -> Option<String>,
    default_sources: &[SourceKind],
) -> Result<Vec<TenantConfig>, TenantConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        err(
            "AOC_TENANTS_FILE",
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    parse_tenants(&text, env, default_sources)
        .map_err(|e| err(format!("{} {}", path.display(), e.field), e.message))
}

/// # Errors
/// See [`load_tenants_file`].
pub fn parse_tenants(
    text: &str,
    env: impl Fn(&str) -> Option<String>,
    default_sources: &[SourceKind],
) -> Result<Vec<TenantConfig>, TenantConfigError> {
    let file: TenantsFile = toml::from_str(text).map_err(|e| err("", e.to_string()))?;
    if file.tenants.is_empty() {
        return Err(err("tenants", "no [[tenants]] entry"));
    }
    let d = &file.defaults;
    let mut seen = std::collections::HashSet::new();
    let mut tenants = Vec::new();
    for (i, entry) in file.tenants.into_iter().enumerate() {
        let at = |name: &str| format!("tenants[{i}].{name}");
        let id = entry
            .id
            .as_deref()
            .ok_or_else(|| err(at("id"), "missing"))?;
        let id = parse_tenant_id(&at("id"), id)?;
        if !seen.insert(id.clone()) {
            return Err(err(at("id"), format!("{id} is listed twice")));
        }
        let client_id = entry
            .client_id
            .or_else(|| d.client_id.clone())
            .ok_or_else(|| err(at("client_id"), "missing (here or at the top of the file)"))?;
        uuid::Uuid::parse_str(&client_id).map_err(|_| {
            err(
                at("client_id"),
                format!("{client_id:?} is not an application id (a GUID)"),
            )
        })?;
        let secret = match (
            entry.client_secret.or_else(|| {
                // An entry's own credential replaces every default one.
                (entry.client_secret_env.is_none() && entry.client_certificate_path.is_none())
                    .then(|| d.client_secret.clone())
                    .flatten()
            }),
            entry.client_secret_env.clone().or_else(|| {
                (entry.client_certificate_path.is_none())
                    .then(|| d.client_secret_env.clone())
                    .flatten()
            }),
        ) {
            (Some(secret), _) => Some(Secret::new(secret)),
            (None, Some(var)) => Some(Secret::new(env(&var).ok_or_else(|| {
                err(
                    at("client_secret_env"),
                    format!("environment variable {var} is not set"),
                )
            })?)),
            (None, None) => None,
        };
        let certificate_path = entry.client_certificate_path.or_else(|| {
            secret
                .is_none()
                .then(|| d.client_certificate_path.clone())
                .flatten()
        });
        let credential = CredentialSource {
            client_secret: secret,
            certificate_path,
            assertion_style: AssertionStyle::default(),
        }
        .load(&at("credential"))?;
        let sources = match entry.sources.as_ref().or(d.sources.as_ref()) {
            Some(names) => parse_sources(&at("sources"), names)?,
            None => default_sources.to_vec(),
        };
        let publisher_id = entry
            .publisher_id
            .or_else(|| d.publisher_id.clone())
            .map(|p| parse_tenant_id(&at("publisher_id"), &p).map(|t| t.as_str().to_owned()))
            .transpose()?
            .unwrap_or_else(|| id.as_str().to_owned());
        tenants.push(TenantConfig {
            app: AppIdentity {
                tenant_id: id.as_str().to_owned(),
                client_id,
                credential,
            },
            id,
            name: entry.name,
            sources,
            publisher_id,
        });
    }
    Ok(tenants)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T1: &str = "8f3c2a1e-5b7d-4e9a-9c21-6d4f0b7a3e58";
    const T2: &str = "1b2c3d4e-0000-4000-8000-00000000beef";
    const APP: &str = "0a1b2c3d-0000-4000-8000-000000000001";

    fn env(name: &str) -> Option<String> {
        (name == "SECRET_A").then(|| "from-env".to_owned())
    }

    #[test]
    fn defaults_apply_and_entries_override() {
        let text = format!(
            r#"
client_id = "{APP}"
client_secret_env = "SECRET_A"
sources = ["graph.sign_ins", "Audit.Exchange"]
[[tenants]]
id = "{T1}"
name = "Contoso"
[[tenants]]
id = "{}"
client_secret = "inline"
sources = ["directory_audits"]
"#,
            T2.to_uppercase()
        );
        let tenants = parse_tenants(&text, env, &SourceKind::ALL).expect("valid");
        assert_eq!(tenants.len(), 2);
        assert_eq!(tenants[0].sources.len(), 2);
        assert!(
            matches!(&tenants[0].app.credential, Credential::Secret(s) if s.expose() == "from-env")
        );
        assert_eq!(
            tenants[1].id.as_str(),
            T2,
            "ids are normalized to lowercase"
        );
        assert!(
            matches!(&tenants[1].app.credential, Credential::Secret(s) if s.expose() == "inline")
        );
        assert_eq!(tenants[1].sources, vec![SourceKind::DirectoryAudits]);
        assert_eq!(tenants[1].publisher_id, T2);
    }

    #[test]
    fn mistakes_name_their_place() {
        let cases = [
            (
                format!("[[tenants]]\nid = \"nope\"\nclient_id = \"{APP}\"\nclient_secret = \"x\""),
                "tenants[0].id",
            ),
            (
                format!("[[tenants]]\nid = \"{T1}\"\nclient_secret = \"x\""),
                "tenants[0].client_id",
            ),
            (
                format!("client_id = \"{APP}\"\n[[tenants]]\nid = \"{T1}\""),
                "tenants[0].credential",
            ),
            (
                format!(
                    "client_id = \"{APP}\"\nclient_secret_env = \"MISSING\"\n[[tenants]]\nid = \"{T1}\""
                ),
                "tenants[0].client_secret_env",
            ),
            (
                format!(
                    "client_id = \"{APP}\"\nclient_secret = \"x\"\n[[tenants]]\nid = \"{T1}\"\nsources = [\"mail\"]"
                ),
                "tenants[0].sources",
            ),
            (
                format!(
                    "client_id = \"{APP}\"\nclient_secret = \"x\"\n[[tenants]]\nid = \"{T1}\"\n[[tenants]]\nid = \"{T1}\""
                ),
                "tenants[1].id",
            ),
            ("client_id = 1".to_owned(), ""),
            ("[[tenants]]\nfoo = 1".to_owned(), ""),
        ];
        for (text, field) in cases {
            let e = parse_tenants(&text, env, &SourceKind::ALL).expect_err(&text);
            assert_eq!(e.field, field, "{text}: {e}");
            assert!(!e.to_string().contains("from-env"));
        }
    }
}
