//! Entra ID's OpenID metadata and token-signing keys (JWKS), fetched and cached per token
//! version.
//!
//! A v1 token is checked against the v1 metadata (`{authority}/{tenant}/.well-known/…`), a v2
//! token against the v2 metadata (`…/v2.0/.well-known/…`): each names its own issuer and
//! `jwks_uri`. A [`KeyStore`] holds one version's metadata and keys and refreshes them:
//!
//! - when they are older than [`RefreshPolicy::every`] (Microsoft suggests a day), metadata
//!   and keys are fetched again;
//! - when a token names a key id the set does not hold (Microsoft rolled its keys), the JWKS is
//!   fetched again, at most once per [`RefreshPolicy::unknown_kid_every`], so a stream of
//!   garbage tokens costs Microsoft at most one request a minute; a key id still unknown after
//!   that is refused;
//! - one fetch at a time: callers arriving during a fetch wait for it, or keep using a stale
//!   set that holds their key;
//! - a failed fetch is not repeated for [`RefreshPolicy::retry_after_failure`]; meanwhile the
//!   last good set serves (up to [`RefreshPolicy::max_age`]), and without one callers get
//!   [`AuthError::KeysUnavailable`].

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use serde::Deserialize;

use crate::auth::AuthError;

/// Largest metadata or JWKS document accepted (Microsoft's are a few KiB).
const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// The token's `ver` claim, which picks the metadata document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenVersion {
    V1,
    V2,
}

impl TokenVersion {
    pub fn from_claim(ver: &str) -> Option<Self> {
        match ver {
            "1.0" => Some(Self::V1),
            "2.0" => Some(Self::V2),
            _ => None,
        }
    }

    /// The OpenID configuration of this version under `{authority}/{tenant}`.
    fn metadata_url(self, tenant_base: &str) -> String {
        match self {
            Self::V1 => format!("{tenant_base}/.well-known/openid-configuration"),
            Self::V2 => format!("{tenant_base}/v2.0/.well-known/openid-configuration"),
        }
    }
}

/// When keys are fetched again, and how long fetches may take.
#[derive(Debug, Clone, Copy)]
pub struct RefreshPolicy {
    /// Age at which metadata and keys are fetched again.
    pub every: Duration,
    /// Least time between two refreshes caused by an unknown key id.
    pub unknown_kid_every: Duration,
    /// After a failed fetch, how long to wait before the next attempt.
    pub retry_after_failure: Duration,
    /// Oldest set still used while Microsoft cannot be reached; older ones fail closed.
    pub max_age: Duration,
    pub connect_timeout: Duration,
    /// Limit of one metadata or JWKS request, body included.
    pub timeout: Duration,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        Self {
            every: Duration::from_secs(24 * 3600),
            unknown_kid_every: Duration::from_secs(60),
            retry_after_failure: Duration::from_secs(10),
            max_age: Duration::from_secs(3 * 24 * 3600),
            connect_timeout: Duration::from_secs(3),
            timeout: Duration::from_secs(10),
        }
    }
}

/// One signing key and, in v2 key sets, the issuer it signs for (may hold `{tenantid}`).
pub struct SigningKey {
    pub key: DecodingKey,
    pub issuer: Option<String>,
}

/// One version's metadata and keys, as fetched together.
pub struct KeySet {
    /// The metadata's `issuer`; `{tenantid}` stands for the tenant in multi-tenant documents.
    pub issuer: String,
    jwks_uri: String,
    keys: HashMap<String, SigningKey>,
    fetched_at: Instant,
}

impl KeySet {
    pub fn key(&self, kid: &str) -> Option<&SigningKey> {
        self.keys.get(kid)
    }

    fn age(&self) -> Duration {
        self.fetched_at.elapsed()
    }
}

#[derive(Deserialize)]
struct Metadata {
    issuer: String,
    jwks_uri: String,
}

/// A JWKS entry as Entra ID writes it. Read by hand rather than as `jsonwebtoken::jwk::Jwk`,
/// which has no place for the per-key `issuer` of v2 key sets.
#[derive(Deserialize)]
struct JwkEntry {
    kty: String,
    kid: Option<String>,
    #[serde(rename = "use")]
    key_use: Option<String>,
    alg: Option<String>,
    n: Option<String>,
    e: Option<String>,
    issuer: Option<String>,
}

#[derive(Deserialize)]
struct JwkDocument {
    keys: Vec<serde_json::Value>,
}

#[derive(Default)]
struct Attempts {
    last_unknown_kid_refresh: Option<Instant>,
    last_failure: Option<Instant>,
}

/// Metadata and keys of one token version, cached and refreshed (see the module docs).
pub struct KeyStore {
    version: TokenVersion,
    metadata_url: String,
    http: reqwest::Client,
    policy: RefreshPolicy,
    current: RwLock<Option<Arc<KeySet>>>,
    /// Held for the whole of a fetch: one at a time.
    fetching: tokio::sync::Mutex<Attempts>,
}

impl KeyStore {
    pub fn new(
        version: TokenVersion,
        tenant_base: &str,
        http: reqwest::Client,
        policy: RefreshPolicy,
    ) -> Self {
        Self {
            version,
            metadata_url: version.metadata_url(tenant_base),
            http,
            policy,
            current: RwLock::new(None),
            fetching: tokio::sync::Mutex::new(Attempts::default()),
        }
    }

    fn current(&self) -> Option<Arc<KeySet>> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn replace(&self, set: KeySet) -> Arc<KeySet> {
        let set = Arc::new(set);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&set));
        set
    }

    fn fresh(&self, set: &KeySet) -> bool {
        set.age() < self.policy.every
    }

    /// The set to check a token signed with `kid` against. The caller looks `kid` up in it;
    /// when it is missing there, the key is unknown even after a refresh (or a refresh was not
    /// allowed yet) and the token is refused.
    ///
    /// # Errors
    /// [`AuthError::KeysUnavailable`] when no usable set is cached and none can be fetched.
    pub async fn keys_for(&self, kid: &str) -> Result<Arc<KeySet>, AuthError> {
        let cached = self.current();
        if let Some(set) = &cached
            && self.fresh(set)
            && set.key(kid).is_some()
        {
            return Ok(Arc::clone(set));
        }
        let mut attempts = match self.fetching.try_lock() {
            Ok(guard) => guard,
            Err(_) => {
                // A fetch is running: a stale set that holds the key serves meanwhile.
                if let Some(set) = &cached
                    && set.key(kid).is_some()
                    && set.age() < self.policy.max_age
                {
                    return Ok(Arc::clone(set));
                }
                self.fetching.lock().await
            }
        };
        // Whoever held the lock may have refreshed the set.
        match self.current() {
            Some(set) if self.fresh(&set) => {
                if set.key(kid).is_some() {
                    return Ok(set);
                }
                let now = Instant::now();
                let allowed = attempts
                    .last_unknown_kid_refresh
                    .is_none_or(|at| now.duration_since(at) >= self.policy.unknown_kid_every);
                if !allowed {
                    return Ok(set);
                }
                attempts.last_unknown_kid_refresh = Some(now);
                // Debug-quoted: the id comes from an unverified token.
                tracing::info!(version = ?self.version, kid = ?kid, "unknown signing key id: fetching the keys again");
                match self.fetch_keys(&set.issuer, &set.jwks_uri).await {
                    Ok(fetched) => Ok(self.replace(fetched)),
                    Err(e) => {
                        tracing::warn!(version = ?self.version, error = %e, "signing keys could not be refreshed");
                        Ok(set)
                    }
                }
            }
            stale => self.reload(&mut attempts, stale).await,
        }
    }

    /// Makes sure a set is cached: at start-up, so a wrong tenant or an unreachable Entra ID
    /// shows in the log before the first caller.
    ///
    /// # Errors
    /// [`AuthError::KeysUnavailable`] when none is cached and none can be fetched.
    pub async fn load(&self) -> Result<Arc<KeySet>, AuthError> {
        let mut attempts = self.fetching.lock().await;
        match self.current() {
            Some(set) if self.fresh(&set) => Ok(set),
            stale => self.reload(&mut attempts, stale).await,
        }
    }

    /// Fetches metadata and keys (unless a fetch failed a moment ago); a failure leaves the
    /// stale set in use while it is younger than `max_age`.
    async fn reload(
        &self,
        attempts: &mut Attempts,
        stale: Option<Arc<KeySet>>,
    ) -> Result<Arc<KeySet>, AuthError> {
        let stale = stale.filter(|set| set.age() < self.policy.max_age);
        let now = Instant::now();
        if let Some(failed) = attempts.last_failure
            && now.duration_since(failed) < self.policy.retry_after_failure
        {
            return stale.ok_or_else(|| {
                AuthError::KeysUnavailable("the last fetch failed; retrying shortly".into())
            });
        }
        match self.fetch_all().await {
            Ok(fetched) => {
                attempts.last_failure = None;
                tracing::debug!(version = ?self.version, keys = fetched.keys.len(), "signing keys fetched");
                Ok(self.replace(fetched))
            }
            Err(e) => {
                attempts.last_failure = Some(now);
                tracing::warn!(version = ?self.version, error = %e, "Entra ID metadata or signing keys could not be fetched");
                stale.ok_or(AuthError::KeysUnavailable(e))
            }
        }
    }

    async fn fetch_all(&self) -> Result<KeySet, String> {
        let metadata: Metadata = self.get_json(&self.metadata_url).await?;
        if metadata.issuer.is_empty() {
            return Err(format!("{} names no issuer", self.metadata_url));
        }
        let jwks_uri = url::Url::parse(&metadata.jwks_uri)
            .ok()
            .filter(|u| matches!(u.scheme(), "https" | "http"))
            .ok_or_else(|| format!("{} names no usable jwks_uri", self.metadata_url))?;
        self.fetch_keys(&metadata.issuer, jwks_uri.as_str()).await
    }

    async fn fetch_keys(&self, issuer: &str, jwks_uri: &str) -> Result<KeySet, String> {
        let document: JwkDocument = self.get_json(jwks_uri).await?;
        let keys: HashMap<String, SigningKey> =
            document.keys.into_iter().filter_map(signing_key).collect();
        if keys.is_empty() {
            return Err(format!("{jwks_uri} holds no RSA signing key"));
        }
        Ok(KeySet {
            issuer: issuer.to_owned(),
            jwks_uri: jwks_uri.to_owned(),
            keys,
            fetched_at: Instant::now(),
        })
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, String> {
        let response = self
            .http
            .get(url)
            .timeout(self.policy.timeout)
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("{url} answered HTTP {}", status.as_u16()));
        }
        if response
            .content_length()
            .is_some_and(|len| len > MAX_DOCUMENT_BYTES as u64)
        {
            return Err(format!("{url} sent more than {MAX_DOCUMENT_BYTES} bytes"));
        }
        let body = response.bytes().await.map_err(|e| format!("{url}: {e}"))?;
        if body.len() > MAX_DOCUMENT_BYTES {
            return Err(format!("{url} sent more than {MAX_DOCUMENT_BYTES} bytes"));
        }
        serde_json::from_slice(&body).map_err(|e| format!("{url} is not the expected JSON: {e}"))
    }
}

/// An RSA signature key with an id; anything else in the set (encryption keys, other key
/// types, keys for other algorithms) is skipped.
fn signing_key(value: serde_json::Value) -> Option<(String, SigningKey)> {
    let entry: JwkEntry = serde_json::from_value(value).ok()?;
    let usable = entry.kty == "RSA"
        && entry.key_use.as_deref().is_none_or(|u| u == "sig")
        && entry.alg.as_deref().is_none_or(|a| a == "RS256");
    if !usable {
        return None;
    }
    let key = DecodingKey::from_rsa_components(entry.n.as_deref()?, entry.e.as_deref()?).ok()?;
    Some((
        entry.kid?,
        SigningKey {
            key,
            issuer: entry.issuer,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_follows_the_token_version() {
        let base = "https://login.microsoftonline.com/8f3c2a1e-5b7d-4e9a-9c21-6d4f0b7a3e58";
        assert_eq!(
            TokenVersion::V1.metadata_url(base),
            format!("{base}/.well-known/openid-configuration")
        );
        assert_eq!(
            TokenVersion::V2.metadata_url(base),
            format!("{base}/v2.0/.well-known/openid-configuration")
        );
        assert_eq!(TokenVersion::from_claim("2.0"), Some(TokenVersion::V2));
        assert_eq!(TokenVersion::from_claim("1.0"), Some(TokenVersion::V1));
        assert_eq!(TokenVersion::from_claim("3.0"), None);
    }

    #[test]
    fn only_rsa_signature_keys_with_an_id_are_kept() {
        let n = "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw";
        let document = serde_json::json!({"keys": [
            {"kty": "RSA", "use": "sig", "kid": "a", "n": n, "e": "AQAB",
             "issuer": "https://login.microsoftonline.com/{tenantid}/v2.0"},
            {"kty": "RSA", "use": "enc", "kid": "b", "n": n, "e": "AQAB"},
            {"kty": "RSA", "kid": "c", "alg": "PS256", "n": n, "e": "AQAB"},
            {"kty": "EC", "kid": "d", "crv": "P-256", "x": "AA", "y": "AA"},
            {"kty": "RSA", "n": n, "e": "AQAB"},
            {"kty": "RSA", "kid": "f", "n": "*not base64*", "e": "AQAB"},
            {"kty": "RSA", "kid": "g", "n": n, "e": "AQAB", "x5c": ["MIIC"]},
            "garbage"
        ]});
        let document: JwkDocument = serde_json::from_value(document).expect("json");
        let keys: HashMap<String, SigningKey> =
            document.keys.into_iter().filter_map(signing_key).collect();
        let mut ids: Vec<&str> = keys.keys().map(String::as_str).collect();
        ids.sort_unstable();
        assert_eq!(ids, ["a", "g"]);
        assert_eq!(
            keys["a"].issuer.as_deref(),
            Some("https://login.microsoftonline.com/{tenantid}/v2.0")
        );
    }
}
