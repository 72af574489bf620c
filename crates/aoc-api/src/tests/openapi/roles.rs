//! With sign-in on (the stand-in Entra ID of the sign-in tests), each route refuses exactly the
//! callers its document says it refuses, with the documented answers.

use crate::auth::{AuthSettings, Authenticator, RefreshPolicy};

use super::super::auth::entra::{APP_ID_URI, CLIENT_ID, FakeEntra, TENANT, TestKey, v2_claims};
use super::*;

fn authenticator(authority: &str) -> Authenticator {
    let settings = AuthSettings {
        authority: url::Url::parse(authority).expect("authority"),
        ..AuthSettings::new(TENANT, vec![CLIENT_ID.into(), APP_ID_URI.into()])
    };
    Authenticator::with_policy(settings, RefreshPolicy::default()).expect("authenticator")
}

/// With sign-in on: no token is a 401; a token whose app roles meet none of an operation's
/// documented requirements is a 403; one that meets one passes the gate. The refusals match
/// the document too.
#[tokio::test]
async fn each_route_enforces_the_role_it_documents() {
    let key = TestKey::one();
    let entra = FakeEntra::start(&[&key]).await;
    let (plain, _) = app().await;
    let doc = document(&plain).await;
    let store = seeded_store().await;
    let app = router(AppState {
        query_cache: Default::default(),
        auth: Some(Arc::new(authenticator(&entra.authority))),
        ..state_with(store, ApiSettings::default())
    });
    let holders: [&[&str]; 4] = [
        &["Audit.Read.All"],
        &["AOC.Reader"],
        &["AOC.Analyst"],
        &["AOC.Admin"],
    ];
    let mut judge = Judge {
        doc,
        seen: BTreeSet::new(),
    };
    for (method, path) in judge.doc.operations() {
        let security = judge.doc.operation(&method, &path)["security"]
            .as_array()
            .cloned()
            .expect("security");
        let open = security == [json!({})];
        let uri = concrete(&path);
        let answer = call(&app, request(&method, &uri, None, None)).await;
        if open {
            assert_ne!(answer.status, 401, "{method} {path} is documented open");
        } else {
            judge
                .send(
                    &app,
                    (&method, &path),
                    request(&method, &uri, None, None),
                    401,
                )
                .await;
        }
        for held in holders {
            let passes = security.iter().any(|requirement| {
                requirement.get("entra").is_none_or(|needed| {
                    needed
                        .as_array()
                        .into_iter()
                        .flatten()
                        .all(|role| held.iter().any(|h| role == h))
                })
            });
            let token = key.sign(&v2_claims(held));
            let signed = request(&method, &uri, None, Some(&token));
            if passes {
                let answer = call(&app, signed).await;
                assert_ne!(answer.status, 403, "{method} {path} as {held:?}");
                assert_ne!(answer.status, 401, "{method} {path} as {held:?}");
            } else {
                let answer = judge.send(&app, (&method, &path), signed, 403).await;
                assert_eq!(answer.json()["type"], "/problems/forbidden");
            }
        }
    }

    // A comment may be changed by its author and an Admin only: a 403 of the handler's own.
    let events = fixture_events();
    let author = key.sign(&v2_claims(&["AOC.Analyst"]));
    let mut other = v2_claims(&["AOC.Analyst"]);
    other["oid"] = json!("5b0e7a42-9c3d-4e1f-8a26-d4c7b3e9f015");
    let other = key.sign(&other);
    let text = json!({"body": "mine"});
    let add = request(
        "POST",
        &format!("/api/events/{}/comments", events[0].id),
        Some(&text),
        Some(&author),
    );
    let comment = judge
        .send(&app, ("POST", "/api/events/{id}/comments"), add, 201)
        .await
        .json();
    let uri = format!("/api/comments/{}", comment["id"].as_str().expect("id"));
    let edit = request("PATCH", &uri, Some(&text), Some(&other));
    judge
        .send(&app, ("PATCH", "/api/comments/{id}"), edit, 403)
        .await;

    // Entra ID out of reach and no keys cached: 503.
    let cut_off = router(AppState {
        query_cache: Default::default(),
        auth: Some(Arc::new(authenticator("http://127.0.0.1:9"))),
        ..state_with(seeded_store().await, ApiSettings::default())
    });
    let token = key.sign(&v2_claims(&["AOC.Reader"]));
    let answer = judge
        .send(
            &cut_off,
            ("GET", "/api/events"),
            request("GET", "/api/events", None, Some(&token)),
            503,
        )
        .await;
    assert_eq!(answer.json()["type"], "/problems/unavailable");
    judge
        .send(
            &cut_off,
            ("GET", "/api/me"),
            request("GET", "/api/me", None, Some(&token)),
            503,
        )
        .await;
}
