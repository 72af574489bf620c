//! Sign-in with Entra ID over real HTTP: AOC's real router on a loopback port, checking
//! tokens against a stand-in Entra ID (metadata and key sets on another port) whose keys the
//! tests roll and whose key-set requests they count.

mod doors;
pub(super) mod entra;
mod jobs;

use std::time::Duration;

use axum::http::HeaderMap;
use jsonwebtoken::{Algorithm, EncodingKey};
use reqwest::Method;
use serde_json::json;
use tokio::sync::mpsc;

use crate::GraphWebhook;
use crate::auth::{AuthSettings, Authenticator, RefreshPolicy};

use self::entra::*;
use super::*;

/// An answer: status, headers and body text.
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// AOC's API on a loopback port.
struct Aoc {
    base: String,
    http: reqwest::Client,
}

impl Aoc {
    async fn start(state: AppState) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let app = router(state);
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await
        });
        Self {
            base,
            http: reqwest::Client::new(),
        }
    }

    /// A server whose callers sign in against `entra`.
    async fn signing_in_at(entra: &FakeEntra, policy: RefreshPolicy) -> Self {
        let auth = authenticator(&entra.authority, policy);
        Self::start(AppState {
            query_cache: Default::default(),
            auth: Some(Arc::new(auth)),
            ..state_with(empty_store().await, ApiSettings::default())
        })
        .await
    }

    /// Sends `method path` with `authorization` as the Authorization header.
    async fn call(&self, method: Method, path: &str, authorization: Option<&str>) -> Answer {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.expect("AOC answers");
        Answer {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.text().await.expect("body"),
        }
    }

    async fn get_as(&self, path: &str, token: &str) -> Answer {
        self.call(Method::GET, path, Some(&format!("Bearer {token}")))
            .await
    }

    async fn post_as(&self, path: &str, token: &str) -> Answer {
        self.call(Method::POST, path, Some(&format!("Bearer {token}")))
            .await
    }
}

fn authenticator(authority: &str, policy: RefreshPolicy) -> Authenticator {
    let settings = AuthSettings {
        authority: url::Url::parse(authority).expect("authority"),
        ..AuthSettings::new(TENANT, vec![CLIENT_ID.into(), APP_ID_URI.into()])
    };
    Authenticator::with_policy(settings, policy).expect("authenticator")
}

async fn empty_store() -> Arc<dyn Store> {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("auth.db").display());
    std::mem::forget(dir);
    let store = SqliteStore::connect(&url).await.expect("open");
    store.migrate().await.expect("migrate");
    Arc::new(store)
}

const READER: &str = "AOC.Reader";
const ANALYST: &str = "AOC.Analyst";
const ADMIN: &str = "AOC.Admin";

fn assert_status(answer: &Answer, status: u16, what: &str) {
    assert_eq!(answer.status, status, "{what}: {}", answer.body);
}

#[tokio::test]
async fn each_role_reaches_the_routes_of_its_level() {
    let key = TestKey::one();
    let entra = FakeEntra::start(&[&key]).await;
    let aoc = Aoc::signing_in_at(&entra, RefreshPolicy::default()).await;

    let reader = key.sign(&v2_claims(&[READER]));
    for path in [
        "/api/events",
        "/api/sources",
        "/api/sources/coverage",
        "/api/me",
    ] {
        assert_status(&aoc.get_as(path, &reader).await, 200, path);
    }
    // Past the gate: the event does not exist.
    let answer = aoc
        .get_as("/api/events/00000000-0000-8000-8000-000000000000", &reader)
        .await;
    assert_status(&answer, 404, "unknown event");

    let analyst = key.sign(&v2_claims(&[ANALYST]));
    assert_status(&aoc.get_as("/api/events", &analyst).await, 200, "analyst");

    // An Admin passes the gate of the fetch route, which answers 409 on a server without
    // collection; and reads, as an Admin is also a Reader.
    let admin = key.sign(&v2_claims(&[ADMIN]));
    let answer = aoc.post_as("/api/fetch-audit-logs", &admin).await;
    assert_status(&answer, 409, "admin fetch");
    assert_eq!(answer.json()["type"], "/problems/collection-not-configured");
    assert_status(&aoc.get_as("/api/events", &admin).await, 200, "admin");

    // Role values the token carries beside AOC's are ignored.
    let mixed = key.sign(&v2_claims(&["Audit.Read.All", READER]));
    assert_status(&aoc.get_as("/api/events", &mixed).await, 200, "mixed");
    // Tokens expired or not yet valid by less than the clock skew (120 s) still pass.
    let mut skewed = v2_claims(&[READER]);
    skewed["exp"] = json!(chrono::Utc::now().timestamp() - 60);
    assert_status(
        &aoc.get_as("/api/events", &key.sign(&skewed)).await,
        200,
        "exp",
    );
    let mut early = v2_claims(&[READER]);
    early["nbf"] = json!(chrono::Utc::now().timestamp() + 60);
    assert_status(
        &aoc.get_as("/api/events", &key.sign(&early)).await,
        200,
        "nbf",
    );
}

#[tokio::test]
async fn roles_below_the_route_get_403_naming_the_role() {
    let key = TestKey::one();
    let entra = FakeEntra::start(&[&key]).await;
    let aoc = Aoc::signing_in_at(&entra, RefreshPolicy::default()).await;

    for roles in [&[READER][..], &[ANALYST]] {
        let token = key.sign(&v2_claims(roles));
        let answer = aoc.post_as("/api/fetch-audit-logs", &token).await;
        assert_status(&answer, 403, roles[0]);
        assert_eq!(answer.headers["content-type"], "application/problem+json");
        let body = answer.json();
        assert_eq!(body["type"], "/problems/forbidden");
        assert_eq!(body["title"], "Forbidden");
        assert!(
            body["detail"].as_str().is_some_and(|d| d.contains("Admin")),
            "{body}"
        );
    }

    // Signed in, but no AOC role (another app role, or none at all as in app-only tokens
    // without an assignment): 403 everywhere but /api/me.
    let mut no_roles = v2_claims(&[]);
    no_roles.as_object_mut().expect("object").remove("roles");
    for token in [
        key.sign(&v2_claims(&["Audit.Read.All"])),
        key.sign(&no_roles),
    ] {
        for (method, path) in [
            (Method::GET, "/api/events"),
            (
                Method::GET,
                "/api/events/00000000-0000-8000-8000-000000000000",
            ),
            (Method::GET, "/api/sources"),
            (Method::GET, "/api/sources/coverage"),
            (Method::POST, "/api/fetch-audit-logs"),
        ] {
            let answer = aoc
                .call(method.clone(), path, Some(&format!("Bearer {token}")))
                .await;
            assert_status(&answer, 403, path);
            let needed = if method == Method::POST {
                "Admin"
            } else {
                "Reader"
            };
            assert!(
                answer.json()["detail"]
                    .as_str()
                    .is_some_and(|d| d.contains(needed))
            );
        }
        let me = aoc.get_as("/api/me", &token).await;
        assert_status(&me, 200, "me without a role");
        assert_eq!(me.json()["roles"], json!([]));
    }
}

/// Every refused token gets the very same answer, so probing teaches nothing about which
/// check failed.
#[tokio::test]
async fn refused_tokens_all_get_the_same_401() {
    let key = TestKey::one();
    let other = TestKey::two();
    let entra = FakeEntra::start(&[&key]).await;
    let aoc = Aoc::signing_in_at(&entra, RefreshPolicy::default()).await;
    // The set-up works: a good token passes.
    let good = v2_claims(&[ADMIN]);
    let good_token = key.sign(&good);
    assert_status(&aoc.get_as("/api/events", &good_token).await, 200, "good");

    let now = chrono::Utc::now().timestamp();
    let with = |change: &dyn Fn(&mut Value)| {
        let mut claims = good.clone();
        change(&mut claims);
        key.sign(&claims)
    };
    let header = |alg: &str| json!({"typ": "JWT", "alg": alg, "kid": key.kid});
    let signed = |alg: Algorithm, secret: &EncodingKey| {
        let mut header = jsonwebtoken::Header::new(alg);
        header.kid = Some(key.kid.to_owned());
        jsonwebtoken::encode(&header, &good, secret).expect("sign")
    };
    let hmac_secret = EncodingKey::from_secret(key.public_pem.as_bytes());
    let mut no_kid = jsonwebtoken::Header::new(Algorithm::RS256);
    no_kid.kid = None;

    let bearer = |token: String| Some(format!("Bearer {token}"));
    let cases: Vec<(&str, Option<String>)> = vec![
        ("no token", None),
        (
            "basic credentials",
            Some("Basic YWxhZGRpbjpvcGVuc2VzYW1l".into()),
        ),
        ("empty bearer", Some("Bearer ".into())),
        ("malformed", bearer("not-a-token".into())),
        ("three garbage parts", bearer("abc.def.ghi".into())),
        ("alg none", bearer(raw_token(&header("none"), &good, b""))),
        ("alg None", bearer(raw_token(&header("None"), &good, b""))),
        (
            "HS256 with the public key",
            bearer(signed(Algorithm::HS256, &hmac_secret)),
        ),
        ("PS256", bearer(signed(Algorithm::PS256, &key.signing))),
        ("RS512", bearer(signed(Algorithm::RS512, &key.signing))),
        (
            "no kid",
            bearer(jsonwebtoken::encode(&no_kid, &good, &key.signing).expect("sign")),
        ),
        ("unknown kid", bearer(key.sign_as("no-such-key", &good))),
        (
            "signed by another key",
            bearer(other.sign_as(key.kid, &good)),
        ),
        (
            "tampered payload",
            bearer(tampered(&key.sign(&v2_claims(&[READER])), |c| {
                c["roles"] = json!([ADMIN]);
            })),
        ),
        (
            "signature cut off",
            bearer(good_token.rsplit_once('.').expect("parts").0.to_owned() + "."),
        ),
        (
            "wrong issuer",
            bearer(with(&|c| {
                c["iss"] = json!("https://login.evil.example/v2.0")
            })),
        ),
        (
            "issuer with a suffix",
            bearer(with(&|c| {
                c["iss"] = json!(format!("{}/", v2_issuer(TENANT)));
            })),
        ),
        (
            "v1 issuer on a v2 token",
            bearer(with(&|c| c["iss"] = json!(v1_issuer(TENANT)))),
        ),
        (
            "issuer as an array",
            bearer(with(&|c| c["iss"] = json!([v2_issuer(TENANT)]))),
        ),
        (
            "no issuer",
            bearer(with(&|c| {
                c.as_object_mut().expect("object").remove("iss");
            })),
        ),
        (
            "wrong audience",
            bearer(with(&|c| c["aud"] = json!("https://graph.microsoft.com"))),
        ),
        (
            "Graph's audience id",
            bearer(with(&|c| {
                c["aud"] = json!("00000003-0000-0000-c000-000000000000");
            })),
        ),
        (
            "no audience",
            bearer(with(&|c| {
                c.as_object_mut().expect("object").remove("aud");
            })),
        ),
        (
            "another tenant",
            bearer(with(&|c| {
                c["tid"] = json!(OTHER_TENANT);
                c["iss"] = json!(v2_issuer(OTHER_TENANT));
            })),
        ),
        (
            "tid not the issuer's",
            bearer(with(&|c| c["tid"] = json!(OTHER_TENANT))),
        ),
        (
            "consumer tenant",
            bearer(with(&|c| {
                c["tid"] = json!(CONSUMER_TENANT);
                c["iss"] = json!(v2_issuer(CONSUMER_TENANT));
            })),
        ),
        (
            "no tid",
            bearer(with(&|c| {
                c.as_object_mut().expect("object").remove("tid");
            })),
        ),
        ("expired", bearer(with(&|c| c["exp"] = json!(now - 3600)))),
        // At the boundary: now >= exp + skew is refused.
        (
            "expired by the skew",
            bearer(with(&|c| c["exp"] = json!(now - 120))),
        ),
        (
            "no expiry",
            bearer(with(&|c| {
                c.as_object_mut().expect("object").remove("exp");
            })),
        ),
        (
            "not yet valid",
            bearer(with(&|c| c["nbf"] = json!(now + 3600))),
        ),
        ("version 3.0", bearer(with(&|c| c["ver"] = json!("3.0")))),
        (
            "no version",
            bearer(with(&|c| {
                c.as_object_mut().expect("object").remove("ver");
            })),
        ),
        (
            "v1 version on a v2 token",
            bearer(with(&|c| c["ver"] = json!("1.0"))),
        ),
        (
            "no oid",
            bearer(with(&|c| {
                c.as_object_mut().expect("object").remove("oid");
            })),
        ),
    ];

    let reference = aoc.call(Method::GET, "/api/events", None).await;
    assert_status(&reference, 401, "no token");
    assert_eq!(reference.headers["www-authenticate"], "Bearer");
    assert_eq!(
        reference.headers["content-type"],
        "application/problem+json"
    );
    let body = reference.json();
    assert_eq!(body["type"], "/problems/unauthorized");
    assert_eq!(body["title"], "Unauthorized");
    assert_eq!(body["status"], 401);
    for (what, authorization) in &cases {
        for (method, path) in [
            (Method::GET, "/api/events"),
            (Method::POST, "/api/fetch-audit-logs"),
            (Method::GET, "/api/me"),
        ] {
            let answer = aoc.call(method, path, authorization.as_deref()).await;
            assert_status(&answer, 401, what);
            assert_eq!(answer.headers["www-authenticate"], "Bearer", "{what}");
            assert_eq!(
                answer.headers["content-type"], "application/problem+json",
                "{what}"
            );
            assert_eq!(answer.body, reference.body, "{what}: the same body");
        }
    }
    // The good token still works after all that.
    assert_status(&aoc.get_as("/api/events", &good_token).await, 200, "good");
}

#[tokio::test]
async fn a_v1_token_is_checked_against_the_v1_metadata() {
    let key = TestKey::one();
    let entra = FakeEntra::start(&[&key]).await;
    let aoc = Aoc::signing_in_at(&entra, RefreshPolicy::default()).await;

    let token = key.sign_v1(&v1_claims(&[ANALYST]));
    assert_status(&aoc.get_as("/api/events", &token).await, 200, "v1");
    let me = aoc.get_as("/api/me", &token).await.json();
    assert_eq!(me["username"], "lee.gomez@contoso.com");
    assert_eq!(me["roles"], json!(["Reader", "Analyst"]));
    // Its issuer is v1's: the v2 issuer on a v1 token is refused, and so is v1's without
    // the trailing slash.
    for iss in [
        v2_issuer(TENANT),
        v1_issuer(TENANT).trim_end_matches('/').to_owned(),
    ] {
        let mut claims = v1_claims(&[ANALYST]);
        claims["iss"] = json!(iss);
        let answer = aoc.get_as("/api/events", &key.sign_v1(&claims)).await;
        assert_status(&answer, 401, &iss);
    }
    // The client id is an accepted v1 audience too.
    let mut claims = v1_claims(&[ANALYST]);
    claims["aud"] = json!(CLIENT_ID);
    assert_status(
        &aoc.get_as("/api/events", &key.sign_v1(&claims)).await,
        200,
        "v1 client id",
    );
}

#[tokio::test]
async fn the_signing_key_must_belong_to_the_token_issuer() {
    let key = TestKey::one();
    let entra = FakeEntra::start(&[]).await;
    // A v2 key that signs for another tenant only.
    entra.publish_with_issuer(&[&key], &v2_issuer(OTHER_TENANT));
    let aoc = Aoc::signing_in_at(&entra, RefreshPolicy::default()).await;
    let token = key.sign(&v2_claims(&[READER]));
    assert_status(&aoc.get_as("/api/events", &token).await, 401, "foreign key");

    // The same key published for our tenant, by name: accepted.
    let entra = FakeEntra::start(&[]).await;
    entra.publish_with_issuer(&[&key], &v2_issuer(TENANT));
    let aoc = Aoc::signing_in_at(&entra, RefreshPolicy::default()).await;
    assert_status(&aoc.get_as("/api/events", &token).await, 200, "our key");
}

/// Microsoft rolls its keys: a token under a new key id makes AOC fetch the keys again, and a
/// key gone from the set is refused from then on.
#[tokio::test]
async fn after_a_key_roll_the_new_key_works_and_the_removed_one_is_refused() {
    let one = TestKey::one();
    let two = TestKey::two();
    let entra = FakeEntra::start(&[&one]).await;
    let aoc = Aoc::signing_in_at(&entra, RefreshPolicy::default()).await;
    let signed_by_one = one.sign(&v2_claims(&[READER]));
    let signed_by_two = two.sign(&v2_claims(&[READER]));

    assert_status(
        &aoc.get_as("/api/events", &signed_by_one).await,
        200,
        "key 1",
    );
    assert_eq!(entra.jwks_requests(), 1);
    // Cached: no fetch per request.
    assert_status(
        &aoc.get_as("/api/events", &signed_by_one).await,
        200,
        "key 1",
    );
    assert_eq!(entra.jwks_requests(), 1);

    entra.publish(&[&two]);
    assert_status(
        &aoc.get_as("/api/events", &signed_by_two).await,
        200,
        "key 2",
    );
    assert_eq!(
        entra.jwks_requests(),
        2,
        "the unknown key id caused one refresh"
    );
    let answer = aoc.get_as("/api/events", &signed_by_one).await;
    assert_status(&answer, 401, "key 1 after the roll");
    assert_eq!(answer.headers["www-authenticate"], "Bearer");
    assert_eq!(entra.jwks_requests(), 2);
}

/// The scheduled refresh (a day; here at every request) replaces the set: a removed key is
/// refused even though its id was known.
#[tokio::test]
async fn the_scheduled_refresh_drops_a_removed_key() {
    let one = TestKey::one();
    let two = TestKey::two();
    let entra = FakeEntra::start(&[&one, &two]).await;
    let policy = RefreshPolicy {
        every: Duration::ZERO,
        ..RefreshPolicy::default()
    };
    let aoc = Aoc::signing_in_at(&entra, policy).await;
    let signed_by_one = one.sign(&v2_claims(&[READER]));
    assert_status(
        &aoc.get_as("/api/events", &signed_by_one).await,
        200,
        "before",
    );
    let before = entra.jwks_requests();
    entra.publish(&[&two]);
    assert_status(
        &aoc.get_as("/api/events", &signed_by_one).await,
        401,
        "after",
    );
    assert!(entra.jwks_requests() > before, "the refresh happened");
    let signed_by_two = two.sign(&v2_claims(&[READER]));
    assert_status(
        &aoc.get_as("/api/events", &signed_by_two).await,
        200,
        "key 2",
    );
}

/// Garbage tokens with made-up key ids cost Entra ID at most one key-set request a minute.
#[tokio::test]
async fn unknown_key_ids_fetch_the_keys_at_most_once_a_minute() {
    let key = TestKey::one();
    let entra = FakeEntra::start(&[&key]).await;
    let aoc = Arc::new(Aoc::signing_in_at(&entra, RefreshPolicy::default()).await);
    let good = key.sign(&v2_claims(&[READER]));
    assert_status(&aoc.get_as("/api/events", &good).await, 200, "good");
    assert_eq!(entra.jwks_requests(), 1);

    spam(&aoc, &key, 20).await;
    assert_eq!(
        entra.jwks_requests(),
        2,
        "one refresh for the first unknown key id, none for the next 19"
    );
    spam(&aoc, &key, 20).await;
    assert_eq!(entra.jwks_requests(), 2);
    assert_status(&aoc.get_as("/api/events", &good).await, 200, "good");

    // The limit is what holds it: without it, each made-up key id is a fetch (the first
    // request loads the keys, each of the 19 others fetches them again).
    let entra = FakeEntra::start(&[&key]).await;
    let unlimited = RefreshPolicy {
        unknown_kid_every: Duration::ZERO,
        ..RefreshPolicy::default()
    };
    let aoc = Arc::new(Aoc::signing_in_at(&entra, unlimited).await);
    spam(&aoc, &key, 20).await;
    assert_eq!(entra.jwks_requests(), 20);
}

/// `n` concurrent requests with tokens under made-up key ids, each refused with 401.
async fn spam(aoc: &Arc<Aoc>, key: &TestKey, n: usize) {
    let mut requests = tokio::task::JoinSet::new();
    for i in 0..n {
        let token = key.sign_as(
            &format!("made-up-{i}-{}", uuid::Uuid::new_v4()),
            &v2_claims(&[ADMIN]),
        );
        let aoc = Arc::clone(aoc);
        requests.spawn(async move { aoc.get_as("/api/events", &token).await.status });
    }
    while let Some(status) = requests.join_next().await {
        assert_eq!(status.expect("request task"), 401);
    }
}

#[tokio::test]
async fn unreachable_keys_answer_503_not_401() {
    let key = TestKey::one();
    // Nothing listens on the discard port.
    let policy = RefreshPolicy {
        retry_after_failure: Duration::ZERO,
        ..RefreshPolicy::default()
    };
    let aoc = Aoc::start(AppState {
        query_cache: Default::default(),
        auth: Some(Arc::new(authenticator("http://127.0.0.1:9", policy))),
        ..state_with(empty_store().await, ApiSettings::default())
    })
    .await;
    let answer = aoc
        .get_as("/api/events", &key.sign(&v2_claims(&[READER])))
        .await;
    assert_status(&answer, 503, "no keys");
    assert_eq!(answer.headers["content-type"], "application/problem+json");
    assert_eq!(answer.json()["type"], "/problems/unavailable");
    // Without a token there is nothing to check keys for: still 401.
    let answer = aoc.call(Method::GET, "/api/events", None).await;
    assert_status(&answer, 401, "no token");
}

#[tokio::test]
async fn me_describes_the_caller() {
    let key = TestKey::one();
    let entra = FakeEntra::start(&[&key]).await;
    let aoc = Aoc::signing_in_at(&entra, RefreshPolicy::default()).await;
    let me = aoc.get_as("/api/me", &key.sign(&v2_claims(&[ADMIN]))).await;
    assert_status(&me, 200, "me");
    assert_eq!(
        me.json(),
        json!({
            "name": "Kim Admin",
            "username": "admin.kim@contoso.com",
            "tenant_id": TENANT,
            "object_id": USER_OID,
            "roles": ["Reader", "Analyst", "Admin"],
            "auth": "entra",
        })
    );
    // Optional claims absent: nulls.
    let mut bare = v2_claims(&[READER]);
    for claim in ["name", "preferred_username"] {
        bare.as_object_mut().expect("object").remove(claim);
    }
    let me = aoc.get_as("/api/me", &key.sign(&bare)).await.json();
    assert_eq!(me["name"], Value::Null);
    assert_eq!(me["username"], Value::Null);
    assert_eq!(me["roles"], json!(["Reader"]));

    // Sign-in off: the local caller, with every role.
    let local = Aoc::start(state_with(empty_store().await, ApiSettings::default())).await;
    let me = local.call(Method::GET, "/api/me", None).await;
    assert_status(&me, 200, "local");
    assert_eq!(
        me.json(),
        json!({
            "name": "Local user",
            "username": null,
            "tenant_id": "local",
            "object_id": "local",
            "roles": ["Reader", "Analyst", "Admin"],
            "auth": "off",
        })
    );
    let fetch = local
        .call(Method::POST, "/api/fetch-audit-logs", None)
        .await;
    assert_status(&fetch, 409, "local admin");
}

/// `/health`, `/metrics` and the Graph webhook need no token; unknown `/api` paths stay 404.
#[tokio::test]
async fn health_metrics_and_the_webhook_stay_open() {
    let key = TestKey::one();
    let entra = FakeEntra::start(&[&key]).await;
    let (tx, _rx) = mpsc::channel(8);
    let aoc = Aoc::start(AppState {
        query_cache: Default::default(),
        auth: Some(Arc::new(authenticator(
            &entra.authority,
            RefreshPolicy::default(),
        ))),
        webhook: Some(Arc::new(GraphWebhook::new(
            "a-client-state-of-some-length".into(),
            tx,
        ))),
        ..state_with(empty_store().await, ApiSettings::default())
    })
    .await;
    assert_status(&aoc.call(Method::GET, "/health", None).await, 200, "health");
    assert_status(
        &aoc.call(Method::GET, "/metrics", None).await,
        200,
        "metrics",
    );
    let validation = aoc
        .call(
            Method::POST,
            "/api/webhooks/graph?validationToken=hello%20graph",
            None,
        )
        .await;
    assert_status(&validation, 200, "webhook validation");
    assert_eq!(validation.body, "hello graph");
    assert_status(
        &aoc.call(Method::GET, "/api/nope", None).await,
        404,
        "unknown",
    );
    assert_eq!(entra.jwks_requests(), 0, "nothing needed a key");
}

impl Aoc {
    /// Sends `method path` as the holder of `token`, with a JSON body when given.
    async fn send_as(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Answer {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("AOC answers");
        Answer {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.text().await.expect("body"),
        }
    }
}

/// The tokens of four users of the tenant: a Reader, two Analysts and an Admin.
struct People {
    reader: String,
    alice: String,
    bob: String,
    admin: String,
}

impl People {
    fn signed_by(key: &TestKey) -> Self {
        let sign = |oid: &str, name: &str, role: &str| key.sign(&claims_of(oid, name, &[role]));
        Self {
            reader: sign(
                "11111111-1111-4111-8111-111111111111",
                "Riley Reader",
                READER,
            ),
            alice: sign(
                "22222222-2222-4222-8222-222222222222",
                "Alice Analyst",
                ANALYST,
            ),
            bob: sign(
                "33333333-3333-4333-8333-333333333333",
                "Bob Analyst",
                ANALYST,
            ),
            admin: sign("44444444-4444-4444-8444-444444444444", "Ada Admin", ADMIN),
        }
    }
}

/// A token of another user of the tenant, holding `roles`.
fn claims_of(oid: &str, name: &str, roles: &[&str]) -> Value {
    let mut claims = v2_claims(roles);
    claims["oid"] = json!(oid);
    claims["name"] = json!(name);
    claims
}

#[tokio::test]
async fn investigation_routes_need_their_roles_and_comments_belong_to_their_author() {
    let key = TestKey::one();
    let entra = FakeEntra::start(&[&key]).await;
    let store = empty_store().await;
    let events = fixture_events();
    store.insert_events(&events).await.expect("insert");
    let aoc = Aoc::start(AppState {
        query_cache: Default::default(),
        auth: Some(Arc::new(authenticator(
            &entra.authority,
            RefreshPolicy::default(),
        ))),
        ..state_with(store, ApiSettings::default())
    })
    .await;
    let event = events[0].id;
    let People {
        reader,
        alice,
        bob,
        admin,
    } = People::signed_by(&key);

    for path in [
        "/api/events/aggregations",
        "/api/tags",
        &format!("/api/events/{event}"),
    ] {
        assert_status(&aoc.get_as(path, &reader).await, 200, path);
    }
    assert_status(
        &aoc.get_as("/api/events/export", &reader).await,
        403,
        "reader export",
    );
    let tag = json!({"tag": "escalated"});
    let answer = aoc
        .send_as(
            Method::POST,
            &format!("/api/events/{event}/tags"),
            &reader,
            Some(tag.clone()),
        )
        .await;
    assert_status(&answer, 403, "reader tags");
    assert_status(
        &aoc.get_as("/api/audit-trail", &reader).await,
        403,
        "reader trail",
    );
    assert_status(
        &aoc.get_as("/api/audit-trail", &alice).await,
        403,
        "analyst trail",
    );

    assert_status(
        &aoc.get_as("/api/events/export", &alice).await,
        200,
        "analyst export",
    );
    let answer = aoc
        .send_as(
            Method::POST,
            &format!("/api/events/{event}/tags"),
            &alice,
            Some(tag),
        )
        .await;
    assert_status(&answer, 201, "analyst tags");
    assert_eq!(answer.json()[0]["by"]["name"], "Alice Analyst");

    let answer = aoc
        .send_as(
            Method::POST,
            &format!("/api/events/{event}/comments"),
            &alice,
            Some(json!({"body": "Alice's note"})),
        )
        .await;
    assert_status(&answer, 201, "comment");
    let comment = answer.json()["id"].as_str().expect("id").to_owned();
    assert_eq!(
        answer.json()["author"]["id"],
        "22222222-2222-4222-8222-222222222222"
    );
    let edit = Some(json!({"body": "Bob was here"}));
    let path = format!("/api/comments/{comment}");
    assert_status(
        &aoc.send_as(Method::PATCH, &path, &bob, edit.clone()).await,
        403,
        "other analyst edits",
    );
    assert_status(
        &aoc.send_as(Method::DELETE, &path, &bob, None).await,
        403,
        "other analyst deletes",
    );
    assert_status(
        &aoc.send_as(
            Method::PATCH,
            &path,
            &alice,
            Some(json!({"body": "Alice, edited"})),
        )
        .await,
        200,
        "author edits",
    );
    assert_status(
        &aoc.send_as(Method::PATCH, &path, &admin, edit).await,
        200,
        "admin edits",
    );
    assert_status(
        &aoc.send_as(Method::DELETE, &path, &admin, None).await,
        204,
        "admin deletes",
    );

    // The trail names each caller, their first request, and the refusals.
    let trail = aoc.get_as("/api/audit-trail?page_size=200", &admin).await;
    assert_status(&trail, 200, "admin trail");
    let items = trail.json()["items"].as_array().expect("items").clone();
    let firsts: Vec<&str> = items
        .iter()
        .filter(|e| e["action"] == "user.first_request")
        .filter_map(|e| e["actor"]["name"].as_str())
        .collect();
    for name in ["Riley Reader", "Alice Analyst", "Bob Analyst", "Ada Admin"] {
        assert!(firsts.contains(&name), "{name} in {firsts:?}");
    }
    let denied = |action: &str, name: &str| {
        items.iter().any(|e| {
            e["action"] == action
                && e["outcome"] == "denied"
                && e["status"] == 403
                && e["actor"]["name"] == name
                && e["actor_tenant"] == TENANT
        })
    };
    assert!(denied("events.export", "Riley Reader"));
    assert!(denied("tag.add", "Riley Reader"));
    assert!(denied("comment.edit", "Bob Analyst"));
    assert!(denied("audit.search", "Alice Analyst"));
    assert!(
        items.iter().all(|e| e["client_ip"] == "127.0.0.1"),
        "client addresses: {items:#?}"
    );
}
