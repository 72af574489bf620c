//! The checks an Entra ID access token must pass, in the order of
//! `entra-token-validation.md`: algorithm and key, signature, issuer, signing-key issuer,
//! tenant, audience, lifetime. Then its claims become a [`Caller`].

use std::collections::BTreeSet;

use axum::http::{HeaderMap, header};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;

use crate::auth::AuthError;
use crate::auth::keys::{KeySet, SigningKey, TokenVersion};
use crate::auth::principal::Caller;
use crate::auth::settings::{AuthSettings, CONSUMER_TENANT};

/// Longest token read. Entra ID's access tokens are a few KiB; anything far larger is not one.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// The token of an `Authorization: Bearer …` header (scheme in any case).
///
/// # Errors
/// [`AuthError::Missing`] without such a header; [`AuthError::Invalid`] for an unreadable one.
pub fn bearer(headers: &HeaderMap) -> Result<&str, AuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(AuthError::Missing);
    };
    let value = value
        .to_str()
        .map_err(|_| AuthError::invalid("authorization header is not ASCII"))?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or_else(|| AuthError::invalid("authorization header is not scheme and credentials"))?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::invalid("authorization scheme is not Bearer"));
    }
    let token = token.trim();
    let plain = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.');
    if token.is_empty() || token.len() > MAX_TOKEN_BYTES || !token.bytes().all(plain) {
        return Err(AuthError::invalid("bearer token is not a compact JWT"));
    }
    Ok(token)
}

/// What is read from a token before its signature is checked: only enough to find the key.
#[derive(Debug, PartialEq, Eq)]
pub struct Unverified {
    pub kid: String,
    pub version: TokenVersion,
}

#[derive(Deserialize)]
struct VersionClaim {
    ver: Option<String>,
}

/// Reads the header and the `ver` claim, unverified. Nothing read here is trusted: the
/// algorithm is pinned, the key id only selects a key, and `ver` only selects the metadata
/// (it is checked again once the signature holds).
///
/// # Errors
/// [`AuthError::Invalid`] for anything but an RS256 token with a key id and version 1.0 or 2.0.
pub fn inspect(token: &str) -> Result<Unverified, AuthError> {
    // An unknown `alg` (`none` among them) fails to parse here.
    let header = jsonwebtoken::decode_header(token).map_err(|_| {
        AuthError::invalid("token header is not readable (or names an unknown alg)")
    })?;
    if header.alg != Algorithm::RS256 {
        return Err(AuthError::Invalid(format!(
            "algorithm {:?} is not RS256",
            header.alg
        )));
    }
    let kid = header
        .kid
        .filter(|k| !k.is_empty())
        .ok_or_else(|| AuthError::invalid("token header has no kid"))?;
    let claim: VersionClaim = jsonwebtoken::dangerous::insecure_decode_claims(token)
        .map_err(|_| AuthError::invalid("token payload is not readable"))?;
    let version = claim
        .ver
        .as_deref()
        .and_then(TokenVersion::from_claim)
        .ok_or_else(|| AuthError::invalid("token version is not 1.0 or 2.0"))?;
    Ok(Unverified { kid, version })
}

/// The claims AOC reads. Only `exp`, `iss`, `aud`, `tid`, `oid` and `ver` are required; the
/// others appear only when they have a value.
#[derive(Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    tid: String,
    oid: String,
    ver: String,
    exp: i64,
    nbf: Option<i64>,
    name: Option<String>,
    preferred_username: Option<String>,
    upn: Option<String>,
    unique_name: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    scp: Option<String>,
    idtyp: Option<String>,
}

/// Checks `token` with `key` from `set` (the metadata and keys of `expected.version`) and
/// turns it into a principal. `now` is Unix seconds.
///
/// # Errors
/// [`AuthError::Invalid`] naming the first check that failed.
pub fn check(
    token: &str,
    expected: &Unverified,
    key: &SigningKey,
    set: &KeySet,
    settings: &AuthSettings,
    now: i64,
) -> Result<Caller, AuthError> {
    let tenant = settings.tenant_id.as_str();
    // The metadata's issuer, with the tenant put in where a multi-tenant document has
    // `{tenantid}`; compared whole, never by prefix.
    let issuer = set.issuer.replace("{tenantid}", tenant);
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    validation.set_issuer(&[issuer.as_str()]);
    validation.set_audience(&settings.audiences);
    // Lifetime is checked below, to the rule's exact boundaries.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.leeway = 0;
    let claims = jsonwebtoken::decode::<Claims>(token, &key.key, &validation)
        .map_err(|e| AuthError::invalid(refusal(e.kind())))?
        .claims;

    // jsonwebtoken compared `iss` and `aud` already; both are single strings in Entra ID's
    // tokens (an array fails to parse above), and are compared whole once more here.
    if claims.iss != issuer {
        return Err(AuthError::invalid("iss is not the tenant's issuer"));
    }
    if !settings.audiences.contains(&claims.aud) {
        return Err(AuthError::invalid("aud is not AOC"));
    }
    if TokenVersion::from_claim(&claims.ver) != Some(expected.version) {
        return Err(AuthError::invalid("token version changed"));
    }
    if let Some(key_issuer) = &key.issuer
        && key_issuer.replace("{tenantid}", &claims.tid) != claims.iss
    {
        return Err(AuthError::invalid("signing key belongs to another issuer"));
    }
    if !is_guid(&claims.tid) || claims.tid == CONSUMER_TENANT {
        return Err(AuthError::invalid("tid is not an organisation's tenant id"));
    }
    if claims.tid != tenant {
        return Err(AuthError::invalid("tid is another tenant"));
    }
    if issuer_tenant(&claims.iss) != Some(claims.tid.as_str()) {
        return Err(AuthError::invalid("tid is not the tenant of iss"));
    }
    let skew = i64::try_from(settings.clock_skew.as_secs()).unwrap_or(i64::MAX);
    if now >= claims.exp.saturating_add(skew) {
        return Err(AuthError::invalid("token expired"));
    }
    if let Some(nbf) = claims.nbf
        && now < nbf.saturating_sub(skew)
    {
        return Err(AuthError::invalid("token not yet valid"));
    }
    Ok(principal(claims, settings))
}

fn principal(claims: Claims, settings: &AuthSettings) -> Caller {
    let roles: BTreeSet<_> = claims
        .roles
        .iter()
        .filter_map(|value| settings.role_names.role(value))
        .collect();
    // App-only tokens carry no `scp`; `idtyp` (an optional claim) says so outright.
    let app = claims.scp.is_none() && claims.idtyp.as_deref() != Some("user");
    Caller {
        tenant_id: claims.tid,
        object_id: claims.oid,
        name: claims.name,
        username: claims
            .preferred_username
            .or(claims.upn)
            .or(claims.unique_name),
        roles,
        app,
        scope: aoc_services::TenantScope::All,
    }
}

/// Why jsonwebtoken refused a token, for the log.
fn refusal(kind: &ErrorKind) -> String {
    match kind {
        ErrorKind::InvalidSignature => "signature does not verify".into(),
        ErrorKind::InvalidAlgorithm => "algorithm does not match the key".into(),
        ErrorKind::InvalidIssuer => "iss is not the tenant's issuer".into(),
        ErrorKind::InvalidAudience => "aud is not AOC".into(),
        ErrorKind::MissingRequiredClaim(claim) => format!("claim {claim} is missing"),
        ErrorKind::InvalidClaimFormat(claim) => format!("claim {claim} is malformed"),
        ErrorKind::Json(_) => "claims are malformed or missing".into(),
        _ => "token is malformed".into(),
    }
}

fn is_guid(value: &str) -> bool {
    value.len() == 36 && uuid::Uuid::try_parse(value).is_ok()
}

/// The tenant GUID in an issuer: `https://login.microsoftonline.com/{tid}/v2.0`,
/// `https://sts.windows.net/{tid}/`, or a sovereign cloud's equivalent.
fn issuer_tenant(iss: &str) -> Option<&str> {
    let after_host = iss.split_once("://")?.1.split_once('/')?.1;
    let mut guids = after_host.split('/').filter(|s| is_guid(s));
    let tenant = guids.next()?;
    // Exactly one GUID in the path, or the issuer is not one Entra ID writes.
    guids.next().is_none().then_some(tenant)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(value).expect("header"),
        );
        headers
    }

    #[test]
    fn bearer_tokens_are_read_from_the_header() {
        assert_eq!(bearer(&headers("Bearer a.b.c")), Ok("a.b.c"));
        assert_eq!(bearer(&headers("bearer a.b.c")), Ok("a.b.c"));
        assert_eq!(bearer(&HeaderMap::new()), Err(AuthError::Missing));
        for bad in [
            "Basic YWxhZGRpbjpvcGVuc2VzYW1l",
            "Bearer",
            "Bearer ",
            "Bearer a b",
            "a.b.c",
        ] {
            assert!(
                matches!(bearer(&headers(bad)), Err(AuthError::Invalid(_))),
                "{bad}"
            );
        }
        let long = format!("Bearer {}", "a".repeat(MAX_TOKEN_BYTES + 1));
        assert!(matches!(
            bearer(&headers(&long)),
            Err(AuthError::Invalid(_))
        ));
    }

    #[test]
    fn the_issuer_names_one_tenant() {
        let tid = "8f3c2a1e-5b7d-4e9a-9c21-6d4f0b7a3e58";
        assert_eq!(
            issuer_tenant(&format!("https://login.microsoftonline.com/{tid}/v2.0")),
            Some(tid)
        );
        assert_eq!(
            issuer_tenant(&format!("https://sts.windows.net/{tid}/")),
            Some(tid)
        );
        assert_eq!(issuer_tenant("https://sts.windows.net/"), None);
        assert_eq!(
            issuer_tenant(&format!("https://evil.example/{tid}/{tid}/")),
            None
        );
        assert_eq!(issuer_tenant(tid), None);
    }
}
