//! The web dashboard as the server serves it: pages, assets, their headers, and the start-up
//! settings it reads. (What it does in a browser is tested with Playwright in `ui-tests/`.)

use axum::http::Method;

use crate::auth::{AuthSettings, Authenticator, RefreshPolicy};

use super::auth::entra::{APP_ID_URI, CLIENT_ID, TENANT};
use super::*;

fn request(method: Method, uri: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::empty())
        .expect("request")
}

#[tokio::test]
async fn pages_get_the_app_with_a_strict_policy_and_anything_else_a_problem() {
    let (app, _) = app().await;
    for page in [
        "/",
        "/events",
        "/sources",
        "/audit-trail",
        "/some/future/page",
    ] {
        let (status, headers, body) = get(&app, page).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .expect("type")
                .starts_with("text/html")
        );
        let csp = headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .expect("csp");
        assert!(csp.contains("default-src 'none'"), "{csp}");
        assert!(csp.contains("script-src 'self';"), "{csp}");
        assert!(!csp.contains("unsafe"), "{csp}");
        assert!(
            body.as_str()
                .expect("html")
                .contains("vendor/alpine/cdn.min.js")
        );
    }
    // The app is ES modules, in folders too: a browser runs a module only when it is served as
    // JavaScript (and `nosniff` forbids guessing).
    for module in ["/app.js", "/pages.js", "/core/api.js", "/pages/events.js"] {
        let (status, headers, _) = get(&app, module).await;
        assert_eq!(status, StatusCode::OK, "{module}");
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .expect("type")
                .contains("javascript"),
            "{module}"
        );
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    }
    let (_, _, body) = get(&app, "/").await;
    assert!(
        body.as_str()
            .expect("html")
            .contains(r#"<script type="module" src="/v/"#)
    );

    // Not pages: an unknown API route, a missing file, a write.
    for (method, uri) in [
        (Method::GET, "/api/nope"),
        (Method::GET, "/api"),
        (Method::GET, "/missing.js"),
        (Method::GET, "/pages/missing.js"),
        (Method::POST, "/"),
    ] {
        let (status, headers, body) = send(&app, request(method.clone(), uri)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {uri}");
        assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
        assert_eq!(body["type"], "/problems/not-found");
    }
}

#[tokio::test]
async fn an_unchanged_asset_is_not_sent_again() {
    let (app, _) = app().await;
    let (_, headers, _) = get(&app, "/app.css").await;
    let etag = headers[header::ETAG].clone();
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
    let again = Request::get("/app.css")
        .header(header::IF_NONE_MATCH, etag.clone())
        .body(Body::empty())
        .expect("request");
    let (status, headers, body) = send(&app, again).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert_eq!(headers[header::ETAG], etag);
    assert_eq!(body, Value::String(String::new()));
}

/// The page names its assets under `/v/{build}/…`, cached for a year as immutable; the page
/// itself is revalidated.
#[tokio::test]
async fn versioned_assets_are_immutable_and_the_page_is_not() {
    let (app, _) = app().await;
    let response = app
        .clone()
        .oneshot(Request::get("/").body(Body::empty()).expect("request"))
        .await
        .expect("response");
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-cache");
    let html = String::from_utf8(
        to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body")
            .to_vec(),
    )
    .expect("utf-8");
    let script = html
        .split("src=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a script");
    assert!(
        script.starts_with("/v/") && script.ends_with("/app.js"),
        "{script}"
    );
    assert!(
        html.contains("href=\"/v/"),
        "the stylesheet is versioned too"
    );
    assert!(html.contains("href=\"/events\""), "links to pages are not");
    let (status, headers, _) = get(&app, script).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    // A module's relative import stays under the version.
    let module = script.replace("app.js", "pages.js");
    let (status, headers, _) = get(&app, &module).await;
    assert_eq!(status, StatusCode::OK, "{module}");
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .expect("type")
            .contains("javascript")
    );
    // Another version's name still gets the file, revalidated.
    let (status, headers, _) = get(&app, "/v/0000000000000000/app.js").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
}

/// Answers are compressed when the client asks, and only then.
#[tokio::test]
async fn answers_are_compressed_when_asked() {
    let (app, _) = app().await;
    for (encoding, expected) in [
        ("br", Some("br")),
        ("gzip", Some("gzip")),
        ("identity", None),
    ] {
        for uri in ["/api/events?page_size=50", "/app.css"] {
            let request = Request::get(uri)
                .header(header::ACCEPT_ENCODING, encoding)
                .body(Body::empty())
                .expect("request");
            let response = app.clone().oneshot(request).await.expect("response");
            assert_eq!(response.status(), StatusCode::OK, "{uri}");
            assert_eq!(
                response
                    .headers()
                    .get(header::CONTENT_ENCODING)
                    .and_then(|v| v.to_str().ok()),
                expected,
                "{uri} with {encoding}"
            );
        }
    }
}

#[tokio::test]
async fn with_sign_in_on_the_dashboard_learns_where_to_sign_in() {
    let (_, events) = app().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("ui.db").display());
    let store = SqliteStore::connect(&url).await.expect("open");
    store.migrate().await.expect("migrate");
    store.insert_events(&events).await.expect("insert");
    let settings = AuthSettings {
        authority: url::Url::parse("https://login.microsoftonline.com").expect("authority"),
        ..AuthSettings::new(TENANT, vec![CLIENT_ID.into(), APP_ID_URI.into()])
    };
    let auth = Authenticator::with_policy(settings, RefreshPolicy::default()).expect("auth");
    let app = router(AppState {
        query_cache: Default::default(),
        auth: Some(Arc::new(auth)),
        ..state_with(Arc::new(store), ApiSettings::default())
    });

    // Read before sign-in: no token needed.
    let (status, _, config) = get(&app, "/api/client-config").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(config["auth"], "entra");
    assert_eq!(
        config["sign_in"]["authority"],
        format!("https://login.microsoftonline.com/{TENANT}")
    );
    assert_eq!(config["sign_in"]["client_id"], CLIENT_ID);
    assert_eq!(
        config["sign_in"]["scopes"],
        serde_json::json!(["api://aoc/.default"])
    );
    // The data still is not.
    let (status, _, _) = get(&app, "/api/events").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // The page may talk to Entra ID, and to nothing else.
    let (status, headers, _) = get(&app, "/").await;
    assert_eq!(status, StatusCode::OK);
    let csp = headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .expect("csp");
    assert!(
        csp.contains("connect-src 'self' https://login.microsoftonline.com;"),
        "{csp}"
    );
}

#[test]
fn the_dashboard_client_id_and_scopes_follow_the_settings() {
    let shared = AuthSettings::new(TENANT, vec![APP_ID_URI.into(), CLIENT_ID.into()])
        .validate()
        .expect("valid");
    assert_eq!(shared.web_client_id(), Some(CLIENT_ID));
    assert_eq!(shared.web_scopes(), vec!["api://aoc/.default".to_owned()]);

    let uri_only = AuthSettings::new(TENANT, vec![APP_ID_URI.into()])
        .validate()
        .expect("valid");
    assert_eq!(uri_only.web_client_id(), None);

    let spa = "0f0e0d0c-0b0a-4009-8008-070605040302";
    let separate = AuthSettings {
        web_client_id: Some(spa.into()),
        web_scopes: vec!["api://aoc/Audit.Read".into(), " ".into()],
        ..AuthSettings::new(TENANT, vec![CLIENT_ID.into()])
    }
    .validate()
    .expect("valid");
    assert_eq!(separate.web_client_id(), Some(spa));
    assert_eq!(
        separate.web_scopes(),
        vec!["api://aoc/Audit.Read".to_owned()]
    );

    let bad = AuthSettings {
        web_client_id: Some("my-spa".into()),
        ..AuthSettings::new(TENANT, vec![CLIENT_ID.into()])
    };
    assert!(matches!(
        bad.validate(),
        Err(crate::auth::SettingsError::BadWebClientId(_))
    ));
}
