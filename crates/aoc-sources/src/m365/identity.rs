//! The Microsoft identity client: OAuth2 client credentials against the v2.0 token endpoint,
//! with a client secret or a certificate (a signed client assertion), and one token cache per
//! (tenant, resource), reused until five minutes before expiry.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Mutex;

use super::cloud::Endpoints;
use super::error::{CallError, Service};
use super::http::{Bearer, Call, MsHttp};

/// Tokens are renewed this long before they expire.
const RENEW_BEFORE: Duration = Duration::from_secs(5 * 60);

/// A client secret. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Which client-assertion header Microsoft's documentation describes: the current page signs
/// with PS256 and names the certificate by its SHA-256 thumbprint, the older (still accepted)
/// one with RS256 and the SHA-1 thumbprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AssertionStyle {
    #[default]
    Ps256Sha256,
    Rs256Sha1,
}

/// A certificate credential: the private key that signs assertions and the certificate's
/// thumbprints. Never printed.
#[derive(Clone)]
pub struct Certificate {
    key: EncodingKey,
    sha1: String,
    sha256: String,
    style: AssertionStyle,
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("x5t#S256", &self.sha256)
            .finish_non_exhaustive()
    }
}

impl Certificate {
    /// Reads a PEM holding the certificate and its RSA private key (PKCS#8 or PKCS#1), as
    /// `openssl req -x509 -newkey rsa:2048 -nodes` and the Azure portal's PEM export produce.
    ///
    /// # Errors
    /// Says which part is missing or unreadable; never quotes the key.
    pub fn from_pem(pem: &str, style: AssertionStyle) -> Result<Self, String> {
        let der =
            pem_block(pem, "CERTIFICATE").ok_or("no -----BEGIN CERTIFICATE----- block found")?;
        let der = STANDARD
            .decode(der)
            .map_err(|_| "the certificate block is not valid base64".to_owned())?;
        let key_block = ["PRIVATE KEY", "RSA PRIVATE KEY"]
            .iter()
            .find_map(|label| {
                pem_block(pem, label)
                    .map(|body| format!("-----BEGIN {label}-----\n{body}\n-----END {label}-----\n"))
            })
            .ok_or("no -----BEGIN PRIVATE KEY----- block found (an RSA key is required)")?;
        let key = EncodingKey::from_rsa_pem(key_block.as_bytes())
            .map_err(|e| format!("the private key is not a readable RSA key: {e}"))?;
        let digest = |algorithm| URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(algorithm, &der));
        Ok(Self {
            key,
            sha1: digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY),
            sha256: digest(&aws_lc_rs::digest::SHA256),
            style,
        })
    }

    /// The SHA-256 thumbprint (`x5t#S256`), for logs and health output.
    pub fn thumbprint(&self) -> &str {
        &self.sha256
    }

    /// A client assertion for `client_id` at the token endpoint `audience`, valid 10 minutes.
    fn assertion(&self, client_id: &str, audience: &str) -> Result<String, String> {
        #[derive(Serialize)]
        struct Claims<'a> {
            aud: &'a str,
            iss: &'a str,
            sub: &'a str,
            jti: String,
            nbf: i64,
            iat: i64,
            exp: i64,
        }
        let now = Utc::now().timestamp();
        let mut header = match self.style {
            AssertionStyle::Ps256Sha256 => {
                let mut h = Header::new(Algorithm::PS256);
                h.x5t_s256 = Some(self.sha256.clone());
                h
            }
            AssertionStyle::Rs256Sha1 => {
                let mut h = Header::new(Algorithm::RS256);
                h.x5t = Some(self.sha1.clone());
                h
            }
        };
        header.typ = Some("JWT".into());
        let claims = Claims {
            aud: audience,
            iss: client_id,
            sub: client_id,
            jti: uuid::Uuid::new_v4().to_string(),
            nbf: now,
            iat: now,
            exp: now + 600,
        };
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|e| format!("signing the client assertion failed: {e}"))
    }
}

fn pem_block<'a>(pem: &'a str, label: &str) -> Option<String> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)? + begin.len();
    let stop = start + pem[start..].find(&end)?;
    let body: &'a str = &pem[start..stop];
    Some(body.split_whitespace().collect())
}

/// How an app proves who it is.
#[derive(Debug, Clone)]
pub enum Credential {
    Secret(Secret),
    Certificate(Arc<Certificate>),
}

/// An app registration in one tenant.
#[derive(Debug, Clone)]
pub struct AppIdentity {
    pub tenant_id: String,
    pub client_id: String,
    pub credential: Credential,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    /// Seconds; the v2 endpoint sends a number, the legacy one a string.
    expires_in: Value,
}

#[derive(Clone)]
struct CachedToken {
    token: String,
    expires_at: DateTime<Utc>,
}

/// The token of one (tenant, resource); its lock also queues requests for it.
type TokenSlot = Arc<Mutex<Option<CachedToken>>>;

/// Tokens per (tenant, resource), shared by every collector of the process.
#[derive(Clone)]
pub struct TokenCache {
    http: MsHttp,
    login: reqwest::Url,
    slots: Arc<Mutex<HashMap<(String, String), TokenSlot>>>,
}

impl TokenCache {
    pub fn new(http: MsHttp, endpoints: &Endpoints) -> Self {
        Self {
            http,
            login: endpoints.login.clone(),
            slots: Arc::default(),
        }
    }

    /// A token for `resource` (`https://graph.microsoft.com`), from the cache while it has more
    /// than five minutes left.
    ///
    /// # Errors
    /// The token endpoint's error, with its AADSTS code.
    pub async fn token(
        &self,
        app: &AppIdentity,
        resource: &str,
        refresh: bool,
    ) -> Result<String, CallError> {
        let slot = {
            let mut slots = self.slots.lock().await;
            slots
                .entry((app.tenant_id.clone(), resource.to_owned()))
                .or_default()
                .clone()
        };
        // One request per (tenant, resource) at a time: callers wait for the first one's token.
        let mut cached = slot.lock().await;
        if !refresh
            && let Some(token) = cached.as_ref()
            && token.expires_at - Utc::now()
                > chrono::Duration::from_std(RENEW_BEFORE).unwrap_or_default()
        {
            return Ok(token.token.clone());
        }
        let fresh = self.request(app, resource).await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    async fn request(&self, app: &AppIdentity, resource: &str) -> Result<CachedToken, CallError> {
        let endpoint =
            Endpoints::join(&self.login, &format!("{}/oauth2/v2.0/token", app.tenant_id));
        // A certificate assertion's audience is the token endpoint it is posted to.
        let mut form: Vec<(&str, String)> = vec![
            ("grant_type", "client_credentials".into()),
            ("client_id", app.client_id.clone()),
            (
                "scope",
                format!("{}/.default", resource.trim_end_matches('/')),
            ),
        ];
        match &app.credential {
            Credential::Secret(secret) => form.push(("client_secret", secret.expose().to_owned())),
            Credential::Certificate(cert) => {
                let assertion = cert
                    .assertion(&app.client_id, &endpoint)
                    .map_err(|message| CallError::Microsoft {
                        service: Service::Login,
                        status: 0,
                        code: Some("certificate_error".into()),
                        message,
                        request_id: None,
                    })?;
                form.push((
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
                ));
                form.push(("client_assertion", assertion));
            }
        }
        let call = Call {
            service: Service::Login,
            source: "token",
            bearer: None,
            pacer: None,
        };
        let requested_at = Utc::now();
        let response: TokenResponse = self
            .http
            .call(
                &call,
                |client| client.post(&endpoint).form(&form),
                |answer| serde_json::from_slice(&answer.body).map_err(|e| e.to_string()),
            )
            .await?;
        let seconds = match &response.expires_in {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
        .unwrap_or(3599);
        Ok(CachedToken {
            token: response.access_token,
            expires_at: requested_at + chrono::Duration::seconds(seconds),
        })
    }
}

/// A [`Bearer`] for one app and resource.
pub struct AppBearer<'a> {
    pub cache: &'a TokenCache,
    pub app: &'a AppIdentity,
    pub resource: &'a str,
}

#[async_trait]
impl Bearer for AppBearer<'_> {
    async fn token(&self, refresh: bool) -> Result<String, CallError> {
        self.cache.token(self.app, self.resource, refresh).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let secret = Secret::new("s3cr3t-value");
        assert!(!format!("{secret:?}").contains("s3cr3t"));
        let app = AppIdentity {
            tenant_id: "t".into(),
            client_id: "c".into(),
            credential: Credential::Secret(secret),
        };
        assert!(!format!("{app:?}").contains("s3cr3t"));
    }

    /// A throwaway certificate made for these tests (`openssl req -x509 -newkey rsa:2048`);
    /// its thumbprints below were computed by `openssl x509 -fingerprint`.
    const TEST_PEM: &str = include_str!("../../../../fixtures/auth/test-certificate.pem");

    fn decode_part(part: &str) -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("json")
    }

    #[test]
    fn certificate_assertions_follow_both_documented_headers() {
        let endpoint = "https://login.microsoftonline.com/t/oauth2/v2.0/token";
        let current = Certificate::from_pem(TEST_PEM, AssertionStyle::Ps256Sha256).expect("pem");
        assert_eq!(
            current.thumbprint(),
            "Co7pES5om0eEz2ZNvGIYkiqNKEMupGpdsQcaiCyNy2c"
        );
        let jwt = current.assertion("client-1", endpoint).expect("signed");
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header = decode_part(parts[0]);
        assert_eq!(header["alg"], "PS256");
        assert_eq!(header["typ"], "JWT");
        assert_eq!(
            header["x5t#S256"],
            "Co7pES5om0eEz2ZNvGIYkiqNKEMupGpdsQcaiCyNy2c"
        );
        let claims = decode_part(parts[1]);
        assert_eq!(claims["aud"], endpoint);
        assert_eq!(
            (&claims["iss"], &claims["sub"]),
            (&Value::from("client-1"), &Value::from("client-1"))
        );
        let (nbf, exp) = (
            claims["nbf"].as_i64().expect("nbf"),
            claims["exp"].as_i64().expect("exp"),
        );
        assert!(exp - nbf <= 600 && exp > Utc::now().timestamp());
        assert!(claims["jti"].as_str().is_some_and(|j| j.len() == 36));
        assert!(parts[2].len() > 300, "an RSA-2048 signature");

        let older = Certificate::from_pem(TEST_PEM, AssertionStyle::Rs256Sha1).expect("pem");
        let header = decode_part(
            older
                .assertion("client-1", endpoint)
                .expect("signed")
                .split('.')
                .next()
                .expect("header"),
        );
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["x5t"], "sQ4bNj4Bx9FG4driG5yZsj8W34s");
        assert!(!format!("{current:?}").contains("PRIVATE"));
    }

    #[test]
    fn pem_without_a_key_is_refused_by_name() {
        let err = Certificate::from_pem(
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            AssertionStyle::default(),
        )
        .expect_err("no key");
        assert!(err.contains("PRIVATE KEY"), "{err}");
        let err = Certificate::from_pem("nothing", AssertionStyle::default()).expect_err("empty");
        assert!(err.contains("CERTIFICATE"), "{err}");
    }
}
