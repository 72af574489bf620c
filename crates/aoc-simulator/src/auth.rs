//! The Entra ID client-credentials token endpoint and access-token checks.
//!
//! Tokens are opaque to clients: `sim.` + base64url(JSON claims) + `.` + base64url(MAC). The MAC
//! (keyed BLAKE3, key from the seed and the required secret) lets the simulator tell its own
//! tokens from anything else.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::config::FaultKind;
use crate::profile::{is_tenant_name, tenant_id};
use crate::rng::is_guid;
use crate::state::{Inner, Surface, fault_response, json_response, lock, token_error};

/// Which API a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resource {
    Graph,
    Management,
}

/// Classifies a public resource id (`https://graph.microsoft.com`, `https://manage.office.com`,
/// their national-cloud variants).
pub(crate) fn classify_resource(resource: &str) -> Option<Resource> {
    let lower = resource.to_ascii_lowercase();
    if lower.contains("graph") {
        Some(Resource::Graph)
    } else if lower.contains("manage")
        || lower.contains("office365")
        || lower.contains("protection.apps.mil")
    {
        Some(Resource::Management)
    } else {
        None
    }
}

/// What an access token says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Claims {
    pub tid: String,
    pub aud: String,
    pub appid: String,
    pub exp: i64,
    pub nonce: String,
}

/// Why a request's token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenProblem {
    Missing,
    Invalid,
    Expired,
    WrongAudience,
}

impl TokenProblem {
    pub(crate) fn graph_message(self) -> &'static str {
        match self {
            Self::Missing => "Access token is empty.",
            Self::Invalid => "Invalid JWT token. The token is not in a valid format.",
            Self::Expired => "Lifetime validation failed, the token is expired.",
            Self::WrongAudience => "Access token validation failure. Invalid audience.",
        }
    }
}

fn mac(inner: &Inner, payload: &str) -> String {
    let hash = blake3::keyed_hash(&inner.token_key, payload.as_bytes());
    URL_SAFE_NO_PAD.encode(&hash.as_bytes()[..16])
}

pub(crate) fn issue(inner: &Inner, claims: &Claims) -> String {
    let payload = URL_SAFE_NO_PAD.encode(json!(claims).to_string());
    let signature = mac(inner, &payload);
    format!("sim.{payload}.{signature}")
}

/// Checks the bearer token of a request for `resource`.
pub(crate) fn verify(
    inner: &Inner,
    headers: &HeaderMap,
    resource: Resource,
) -> Result<Claims, TokenProblem> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or(TokenProblem::Missing)?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .ok_or(TokenProblem::Invalid)?;
    if token.is_empty() {
        return Err(TokenProblem::Missing);
    }
    let mut parts = token.split('.');
    let (Some("sim"), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenProblem::Invalid);
    };
    if mac(inner, payload) != signature {
        return Err(TokenProblem::Invalid);
    }
    let claims: Claims = URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or(TokenProblem::Invalid)?;
    if claims.exp <= Utc::now().timestamp() {
        return Err(TokenProblem::Expired);
    }
    if classify_resource(&claims.aud) != Some(resource) {
        return Err(TokenProblem::WrongAudience);
    }
    Ok(claims)
}

fn form(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// Client id and secret from HTTP Basic authentication (RFC 6749 §2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((decode(id), decode(secret)))
}

/// Checks a client assertion: three base64url parts, a JSON payload with `aud`, `iss == sub ==
/// client_id` and `exp` in the future. The signature is not verified.
fn check_assertion(assertion: &str, client_id: &str) -> Result<(), (u32, &'static str)> {
    let parts: Vec<&str> = assertion.split('.').collect();
    let malformed = (
        700_027,
        "Client assertion failed signature validation: the assertion is not a well-formed JWT.",
    );
    if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
        return Err(malformed);
    }
    let decode = |part: &str| {
        URL_SAFE_NO_PAD
            .decode(part.trim_end_matches('='))
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
    };
    let (Some(_header), Some(payload)) = (decode(parts[0]), decode(parts[1])) else {
        return Err(malformed);
    };
    if URL_SAFE_NO_PAD
        .decode(parts[2].trim_end_matches('='))
        .is_err()
    {
        return Err(malformed);
    }
    let text = |key: &str| payload.get(key).and_then(Value::as_str);
    if text("aud").is_none() {
        return Err((
            700_027,
            "Client assertion failed signature validation: the assertion has no 'aud' claim.",
        ));
    }
    if text("iss") != Some(client_id) || text("sub") != Some(client_id) {
        return Err((
            700_021,
            "Client assertion application identifier doesn't match 'client_id' parameter.",
        ));
    }
    match payload.get("exp").and_then(Value::as_i64) {
        Some(exp) if exp > Utc::now().timestamp() => Ok(()),
        _ => Err((
            700_024,
            "Client assertion is not within its valid time range.",
        )),
    }
}

/// `POST /{tenant}/oauth2/v2.0/token`.
pub(crate) async fn token(
    State(inner): State<Arc<Inner>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    inner.count_request("token");
    lock(&inner.stats).token_requests += 1;
    let bad = |status, error, code, text: &str| token_error(&inner, status, error, code, text);
    let lower = tenant.to_ascii_lowercase();
    if matches!(lower.as_str(), "common" | "organizations" | "consumers") {
        return bad(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            &format!(
                "Tenant '{tenant}' cannot be used for the client credentials flow: use the tenant GUID or a verified domain. (simulated)"
            ),
        );
    }
    if !is_tenant_name(&lower) {
        return bad(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            &format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID."
            ),
        );
    }
    if let Some(kind) = inner.pick_fault(&[FaultKind::Throttle, FaultKind::ServerError]) {
        inner.count_fault(kind);
        return fault_response(
            &inner,
            Surface::Token,
            kind,
            &(String::new(), String::new()),
        );
    }

    let mut fields = form(&body);
    if let Some((id, secret)) = basic_credentials(&headers) {
        if field(&fields, "client_id").is_none() {
            fields.push(("client_id".into(), id));
        }
        if field(&fields, "client_secret").is_none() {
            fields.push(("client_secret".into(), secret));
        }
    }
    let missing = |name: &str| {
        bad(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900_144,
            &format!("The request body must contain the following parameter: '{name}'."),
        )
    };
    let Some(grant_type) = field(&fields, "grant_type") else {
        return missing("grant_type");
    };
    if grant_type != "client_credentials" {
        return bad(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            &format!(
                "The app requested an unsupported grant type '{grant_type}'. (simulated: only client_credentials)"
            ),
        );
    }
    let Some(client_id) = field(&fields, "client_id") else {
        return missing("client_id");
    };
    if !is_guid(client_id) {
        return bad(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700_016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant}'."
            ),
        );
    }
    let Some(scope) = field(&fields, "scope") else {
        return missing("scope");
    };
    let scopes: Vec<&str> = scope.split_whitespace().collect();
    let resource = match scopes.as_slice() {
        [one] => one.strip_suffix("/.default"),
        _ => None,
    };
    let Some(resource) = resource.filter(|r| !r.is_empty()) else {
        return bad(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            70011,
            &format!(
                "The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid: client credentials need exactly one '<resource>/.default' scope."
            ),
        );
    };
    if classify_resource(resource).is_none() {
        return bad(
            StatusCode::BAD_REQUEST,
            "invalid_resource",
            500_011,
            &format!(
                "The resource principal named {resource} was not found in the tenant named {tenant}. (simulated: Graph and the Management API only)"
            ),
        );
    }

    let secret = field(&fields, "client_secret");
    let assertion = field(&fields, "client_assertion");
    let invalid_secret = || {
        bad(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7_000_215,
            &format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
            ),
        )
    };
    match (secret, assertion) {
        (None, None) => {
            return bad(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7_000_216,
                "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
            );
        }
        (_, Some(assertion)) => {
            if field(&fields, "client_assertion_type")
                != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
            {
                return bad(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    900_144,
                    "The request body must contain the following parameter: 'client_assertion_type' (urn:ietf:params:oauth:client-assertion-type:jwt-bearer).",
                );
            }
            if let Err((code, text)) = check_assertion(assertion, client_id) {
                return bad(StatusCode::UNAUTHORIZED, "invalid_client", code, text);
            }
            if inner.config.required_client_secret.is_some() {
                return invalid_secret();
            }
        }
        (Some(secret), None) => {
            if let Some(required) = &inner.config.required_client_secret
                && secret != required
            {
                return invalid_secret();
            }
        }
    }

    let lifetime = inner.config.token_lifetime.as_secs();
    let claims = Claims {
        tid: tenant_id(&lower),
        aud: resource.to_string(),
        appid: client_id.to_ascii_lowercase(),
        exp: Utc::now().timestamp() + lifetime as i64,
        nonce: inner.rng().guid(),
    };
    let access_token = issue(&inner, &claims);
    lock(&inner.stats).tokens_issued += 1;
    let body = json!({
        "token_type": "Bearer",
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": access_token
    });
    let mut response = json_response(StatusCode::OK, body.to_string());
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache"),
    );
    response
        .headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_classify() {
        assert_eq!(
            classify_resource("https://graph.microsoft.com"),
            Some(Resource::Graph)
        );
        assert_eq!(
            classify_resource("https://graph.microsoft.us"),
            Some(Resource::Graph)
        );
        assert_eq!(
            classify_resource("https://microsoftgraph.chinacloudapi.cn"),
            Some(Resource::Graph)
        );
        assert_eq!(
            classify_resource("https://manage.office.com"),
            Some(Resource::Management)
        );
        assert_eq!(
            classify_resource("https://manage.office365.us"),
            Some(Resource::Management)
        );
        assert_eq!(
            classify_resource("https://manage.protection.apps.mil"),
            Some(Resource::Management)
        );
        assert_eq!(classify_resource("https://monitor.azure.com"), None);
    }

    #[test]
    fn assertions_are_checked() {
        let enc = |v: Value| URL_SAFE_NO_PAD.encode(v.to_string());
        let id = "5a1b9c7e-3d2f-4e6a-8b0c-7f9e1d2a4c36";
        let header = enc(json!({"alg": "PS256", "typ": "JWT"}));
        let good =
            enc(json!({"aud": "x", "iss": id, "sub": id, "exp": Utc::now().timestamp() + 300}));
        let sig = URL_SAFE_NO_PAD.encode(b"signature");
        assert!(check_assertion(&format!("{header}.{good}.{sig}"), id).is_ok());
        let expired = enc(json!({"aud": "x", "iss": id, "sub": id, "exp": 1}));
        assert_eq!(
            check_assertion(&format!("{header}.{expired}.{sig}"), id).map_err(|e| e.0),
            Err(700_024)
        );
        let other = enc(
            json!({"aud": "x", "iss": "other", "sub": id, "exp": Utc::now().timestamp() + 300}),
        );
        assert_eq!(
            check_assertion(&format!("{header}.{other}.{sig}"), id).map_err(|e| e.0),
            Err(700_021)
        );
        assert!(check_assertion("a.b", id).is_err());
    }
}
