//! A stand-in for Entra ID: its OpenID metadata (v1 and v2) and key sets over real HTTP on a
//! loopback port, signing keys from `fixtures/auth/` (test-only), and tokens shaped like
//! Microsoft's.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Path, State};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

pub const TENANT: &str = "8f3c2a1e-5b7d-4e9a-9c21-6d4f0b7a3e58";
pub const OTHER_TENANT: &str = "1b2c3d4e-0000-4000-8000-00000000beef";
/// Microsoft's consumer (personal accounts) tenant.
pub const CONSUMER_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";
/// AOC's application (client) id: the `aud` of v2 tokens.
pub const CLIENT_ID: &str = "5a1b9c7e-3d2f-4e6a-8b0c-7f9e1d2a4c36";
/// AOC's App ID URI: the `aud` of v1 tokens asked for with it.
pub const APP_ID_URI: &str = "api://aoc";
pub const USER_OID: &str = "0c4e7a91-2b6d-4f38-9a15-e3d7c2b8f604";

pub fn v2_issuer(tenant: &str) -> String {
    format!("https://login.microsoftonline.com/{tenant}/v2.0")
}

pub fn v1_issuer(tenant: &str) -> String {
    format!("https://sts.windows.net/{tenant}/")
}

/// A test-only RSA key from `fixtures/auth/`, with its key id.
pub struct TestKey {
    pub kid: &'static str,
    pub signing: EncodingKey,
    /// The public key as PEM: what an attacker would use as an HMAC secret.
    pub public_pem: &'static str,
    n: String,
    e: String,
}

impl TestKey {
    fn load(kid: &'static str, private_pem: &str, public_pem: &'static str) -> Self {
        let signing = EncodingKey::from_rsa_pem(private_pem.as_bytes()).expect("RSA PEM");
        let jwk = Jwk::from_encoding_key(&signing, Algorithm::RS256).expect("JWK");
        let AlgorithmParameters::RSA(rsa) = jwk.algorithm else {
            panic!("an RSA key gives RSA parameters");
        };
        Self {
            kid,
            signing,
            public_pem,
            n: rsa.n,
            e: rsa.e,
        }
    }

    pub fn one() -> Self {
        Self::load(
            "TestKid-One-q3Lr8Xb2",
            include_str!("../../../../../fixtures/auth/api-signing-key-1.pem"),
            include_str!("../../../../../fixtures/auth/api-signing-key-1.pub.pem"),
        )
    }

    pub fn two() -> Self {
        Self::load(
            "TestKid-Two-Zp7Yc4Mn",
            include_str!("../../../../../fixtures/auth/api-signing-key-2.pem"),
            include_str!("../../../../../fixtures/auth/api-signing-key-2.pub.pem"),
        )
    }

    /// Its JWKS entry as Entra ID writes it; v2 key sets name the issuer the key signs for.
    fn jwk(&self, issuer: Option<&str>) -> Value {
        let mut entry = json!({
            "kty": "RSA", "use": "sig", "kid": self.kid, "x5t": self.kid,
            "n": self.n, "e": self.e, "x5c": ["MIIC-not-checked"],
        });
        if let Some(issuer) = issuer {
            entry["issuer"] = Value::String(issuer.to_owned());
        }
        entry
    }

    /// An RS256 token with this key's id in the header.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.to_owned());
        jsonwebtoken::encode(&header, claims, &self.signing).expect("sign")
    }

    /// An RS256 token signed with this key under another key id.
    pub fn sign_as(&self, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &self.signing).expect("sign")
    }

    /// A v1-style header: `x5t` beside `kid`.
    pub fn sign_v1(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.to_owned());
        header.x5t = Some(self.kid.to_owned());
        jsonwebtoken::encode(&header, claims, &self.signing).expect("sign")
    }
}

/// A token from raw header and claims JSON, with `signature` as its third part.
pub fn raw_token(header: &Value, claims: &Value, signature: &[u8]) -> String {
    let part = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
    format!(
        "{}.{}.{}",
        part(header.to_string().as_bytes()),
        part(claims.to_string().as_bytes()),
        part(signature)
    )
}

/// `token` with its claims replaced and its signature kept.
pub fn tampered(token: &str, change: impl FnOnce(&mut Value)) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let payload = URL_SAFE_NO_PAD.decode(parts[1]).expect("base64");
    let mut claims: Value = serde_json::from_slice(&payload).expect("json");
    change(&mut claims);
    format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    )
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A v2 user token for AOC (client id audience) holding the app-role values `roles`.
pub fn v2_claims(roles: &[&str]) -> Value {
    let now = now();
    json!({
        "aud": CLIENT_ID, "iss": v2_issuer(TENANT),
        "iat": now - 60, "nbf": now - 60, "exp": now + 3600,
        "aio": "synthetic-opaque", "azp": "d0e2a4c6-8f1b-4d3c-9e5a-7b9d1f3b5c53", "azpacr": "0",
        "name": "Kim Admin", "oid": USER_OID, "preferred_username": "admin.kim@contoso.com",
        "rh": "synthetic-opaque", "roles": roles, "scp": "access_as_user",
        "sub": "SynthPairwiseSubject0001", "tid": TENANT, "uti": "SynthUti0001", "ver": "2.0",
    })
}

/// A v1 user token asked for with the App ID URI, holding `roles`.
pub fn v1_claims(roles: &[&str]) -> Value {
    let now = now();
    json!({
        "aud": APP_ID_URI, "iss": v1_issuer(TENANT),
        "iat": now - 60, "nbf": now - 60, "exp": now + 3600,
        "acr": "1", "amr": ["pwd", "mfa"], "appid": "f2a4c6e8-0b1d-4f3e-8a5c-9d1f3b5d7e55",
        "appidacr": "0", "ipaddr": "203.0.113.24", "name": "Lee Gomez", "oid": USER_OID,
        "roles": roles, "scp": "access_as_user", "sub": "SynthPairwiseSubject0002", "tid": TENANT,
        "unique_name": "lee.gomez@contoso.com", "upn": "lee.gomez@contoso.com",
        "uti": "SynthUti0002", "ver": "1.0",
    })
}

/// What the stand-in serves, changed by the tests while it runs.
#[derive(Default)]
struct Published {
    /// Each key's entry in the v1 and in the v2 key set.
    keys: Vec<(Value, Value)>,
}

#[derive(Clone)]
struct Shared {
    base: String,
    published: Arc<Mutex<Published>>,
    jwks_requests: Arc<AtomicUsize>,
}

/// Entra ID's metadata and key endpoints for every tenant, on a loopback port.
pub struct FakeEntra {
    pub authority: String,
    shared: Shared,
}

impl FakeEntra {
    /// Serves `keys` until told otherwise.
    pub async fn start(keys: &[&TestKey]) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let authority = format!("http://{}", listener.local_addr().expect("addr"));
        let shared = Shared {
            base: authority.clone(),
            published: Arc::default(),
            jwks_requests: Arc::default(),
        };
        let app = axum::Router::new()
            .route(
                "/{tenant}/v2.0/.well-known/openid-configuration",
                get(metadata_v2),
            )
            .route(
                "/{tenant}/.well-known/openid-configuration",
                get(metadata_v1),
            )
            .route("/{tenant}/discovery/v2.0/keys", get(keys_v2))
            .route("/{tenant}/discovery/keys", get(keys_v1))
            .with_state(shared.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let entra = Self { authority, shared };
        entra.publish(keys);
        entra
    }

    /// Replaces the published keys (a key roll). v2 entries carry the templated issuer.
    pub fn publish(&self, keys: &[&TestKey]) {
        let template = v2_issuer("{tenantid}");
        self.publish_with_issuer(keys, &template);
    }

    /// Publishes `keys` with `issuer` as the v2 entries' signing-key issuer.
    pub fn publish_with_issuer(&self, keys: &[&TestKey], issuer: &str) {
        let entries = keys
            .iter()
            .map(|k| (k.jwk(None), k.jwk(Some(issuer))))
            .collect();
        self.shared.published.lock().expect("lock").keys = entries;
    }

    /// JWKS documents served so far, both versions together.
    pub fn jwks_requests(&self) -> usize {
        self.shared.jwks_requests.load(Ordering::SeqCst)
    }
}

async fn metadata_v2(State(shared): State<Shared>, Path(tenant): Path<String>) -> Json<Value> {
    Json(json!({
        "token_endpoint": format!("{}/{tenant}/oauth2/v2.0/token", shared.base),
        "jwks_uri": format!("{}/{tenant}/discovery/v2.0/keys", shared.base),
        "issuer": v2_issuer(&tenant),
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
}

async fn metadata_v1(State(shared): State<Shared>, Path(tenant): Path<String>) -> Json<Value> {
    Json(json!({
        "token_endpoint": format!("{}/{tenant}/oauth2/token", shared.base),
        "jwks_uri": format!("{}/{tenant}/discovery/keys", shared.base),
        "issuer": v1_issuer(&tenant),
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
}

async fn keys_v2(State(shared): State<Shared>) -> Json<Value> {
    shared.jwks_requests.fetch_add(1, Ordering::SeqCst);
    let published = shared.published.lock().expect("lock");
    let keys: Vec<&Value> = published.keys.iter().map(|(_, v2)| v2).collect();
    Json(json!({ "keys": keys }))
}

async fn keys_v1(State(shared): State<Shared>) -> Json<Value> {
    shared.jwks_requests.fetch_add(1, Ordering::SeqCst);
    let published = shared.published.lock().expect("lock");
    let keys: Vec<&Value> = published.keys.iter().map(|(v1, _)| v1).collect();
    Json(json!({ "keys": keys }))
}
