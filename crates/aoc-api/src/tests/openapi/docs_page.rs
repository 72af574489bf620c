//! `/docs` works on a network without internet: the page and every file it loads are served by
//! AOC, and nothing in them makes the browser fetch from another host.

use super::*;

/// Hosts that appear in Swagger UI's bundle only as text the browser never fetches: links in
/// error messages and licences, XML namespaces, specification identifiers, example values,
/// social-media link formats of its Markdown renderer, and the online validator (switched off
/// in the page's configuration, checked below). A new version of Swagger UI that names another
/// host fails this test until someone has looked at what it does with it.
const INERT_HOSTS: [&str; 20] = [
    "www.w3.org",
    "github.com",
    "fb.me",
    "reactjs.org",
    "redux.js.org",
    "swagger.io",
    "validator.swagger.io",
    "datatracker.ietf.org",
    "www.rfc-editor.org",
    "json-schema.org",
    "spec.openapis.org",
    "spdx.org",
    "example.com",
    "vladimirgorej.com",
    "twitter.com",
    "www.facebook.com",
    "instagram.com",
    "www.tiktok.com",
    "soundcloud.com",
    // `new URL(x, "https://base" + random)`: a base for parsing, never fetched.
    "base",
];

/// Hosts that serve JavaScript, CSS or fonts to pages: none may be named anywhere.
const CDNS: [&str; 8] = [
    "unpkg.com",
    "jsdelivr.net",
    "cdnjs.cloudflare.com",
    "fonts.googleapis.com",
    "fonts.gstatic.com",
    "cdn.redoc.ly",
    "petstore.swagger.io",
    "code.jquery.com",
];

/// The hosts of the absolute http(s) URLs in `text`.
fn hosts(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for scheme in ["http://", "https://"] {
        for after in text.split(scheme).skip(1) {
            let host: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
                .collect();
            // A scheme alone (`s.startsWith("https://")`, `"http://" + host`) names no host.
            if !host.is_empty() {
                found.insert(host);
            }
        }
    }
    found
}

/// `src="…"` and `href="…"` values of an HTML page.
fn references(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        for after in html.split(attribute).skip(1) {
            found.push(after.split('"').next().unwrap_or_default().to_owned());
        }
    }
    found
}

#[tokio::test]
async fn the_docs_page_and_its_files_are_served_without_any_other_host() {
    let (app, _) = app().await;
    let answer = call(&app, request("GET", "/docs", None, None)).await;
    assert!(answer.status / 100 == 3, "{}", answer.status);
    assert_eq!(answer.headers[header::LOCATION], "/docs/");
    let page = call(&app, request("GET", "/docs/", None, None)).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.media_type().as_deref(), Some("text/html"));
    let html = String::from_utf8(page.bytes).expect("utf-8");
    assert!(hosts(&html).is_empty(), "the page names {:?}", hosts(&html));
    let files = references(&html);
    assert!(
        files.iter().any(|f| f.ends_with("swagger-ui-bundle.js")),
        "{files:?}"
    );
    assert!(
        files.iter().any(|f| f.ends_with("swagger-initializer.js")),
        "{files:?}"
    );
    for file in files {
        assert!(
            !file.contains("//") && !file.starts_with('/'),
            "{file} is not a file next to the page"
        );
        let uri = format!("/docs/{}", file.trim_start_matches("./"));
        let answer = call(&app, request("GET", &uri, None, None)).await;
        assert_eq!(answer.status, 200, "{uri}");
        let text = String::from_utf8_lossy(&answer.bytes).into_owned();
        let lower = text.to_ascii_lowercase();
        for cdn in CDNS {
            assert!(!lower.contains(cdn), "{uri} names {cdn}");
        }
        for host in hosts(&text) {
            assert!(INERT_HOSTS.contains(&host.as_str()), "{uri} names {host}");
        }
        if uri.ends_with("swagger-initializer.js") {
            // The page asks this server for the document, and never the online validator.
            assert!(text.contains("\"/openapi.json\""), "{text}");
            assert!(text.contains("\"validatorUrl\": \"none\""), "{text}");
            assert!(hosts(&text).is_empty(), "{text}");
        }
    }
}
