//! The web dashboard: the single-page app under `crates/aoc-api/ui/` (`index.html`, `app.css` and
//! ES modules loaded as they are, no build step), embedded in release builds and read from disk
//! in debug builds (edit, reload), served at `/`.
//!
//! Every path that is not an API route, an asset or the OpenAPI document and looks like a page
//! (`/`, `/events`, `/sources`, `/audit-trail`, …, no file extension) gets `index.html`, and the
//! app routes in the browser. The page names its assets under `/v/{build}/…`, `{build}` a hash
//! of every asset, and those are cached as immutable: a browser fetches the scripts once per
//! version of AOC, and the modules' relative imports stay under the same version. The page itself
//! is revalidated on every load, so an upgrade is seen at once. The answers carry a strict Content Security Policy: scripts,
//! styles, images and requests from this origin only — the dashboard works with no internet
//! access and cannot be made to talk to another host — except Entra ID's sign-in host when
//! sign-in is on (MSAL fetches tokens from it and renews them in a hidden frame).

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

use crate::Api;
use crate::error::problem;

#[derive(RustEmbed)]
#[folder = "ui/"]
struct Assets;

const INDEX: &str = "index.html";

/// Where versioned assets live: `/v/{build}/app.js`.
const VERSIONED: &str = "v/";

/// A hash of every asset, names and contents: the version the page names its assets with.
fn build() -> &'static str {
    static BUILD: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BUILD.get_or_init(|| {
        let mut names: Vec<_> = Assets::iter().collect();
        names.sort();
        let mut hasher = blake3::Hasher::new();
        for name in names {
            if let Some(file) = Assets::get(&name) {
                hasher.update(name.as_bytes());
                hasher.update(&file.metadata.sha256_hash());
            }
        }
        hasher.finalize().to_hex()[..16].to_owned()
    })
}

/// `index.html` with each of its own assets (`="/app.js"`, `="/vendor/…"`) named under the
/// current version.
fn versioned_index(html: &str) -> String {
    let prefix = format!("=\"/{VERSIONED}{}/", build());
    let mut out = String::with_capacity(html.len() + 256);
    let mut rest = html;
    while let Some(at) = rest.find("=\"/") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 3..];
        let path = after.split('"').next().unwrap_or_default();
        let asset = path.contains('.') && !path.contains("..") && Assets::get(path).is_some();
        out.push_str(if asset { &prefix } else { "=\"/" });
        rest = after;
    }
    out.push_str(rest);
    out
}

/// The policy for every dashboard answer; `{sign_in}` is Entra ID's origin, or nothing.
fn content_security_policy(sign_in_origin: Option<&str>) -> String {
    let extra = sign_in_origin.map(|o| format!(" {o}")).unwrap_or_default();
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
         font-src 'self'; connect-src 'self'{extra}; frame-src 'self'{extra}; \
         frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
}

/// The fallback handler: a dashboard asset or page, else a problem+json 404.
pub async fn serve(
    State(state): State<Api>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let mut path = uri.path().trim_start_matches('/');
    let api = path == "api" || path.starts_with("api/");
    if api || (method != Method::GET && method != Method::HEAD) {
        return not_found();
    }
    // `/v/{build}/app.js`: immutable when `{build}` is this version; a page of another version
    // still gets the file, revalidated like any other.
    let mut immutable = false;
    if let Some(versioned) = path.strip_prefix(VERSIONED)
        && let Some((version, rest)) = versioned.split_once('/')
    {
        immutable = version == build();
        path = rest;
    }
    let (name, file) = match Assets::get(path).filter(|_| !path.is_empty()) {
        Some(file) => (path, file),
        // A page of the app (no extension): the app itself, which routes in the browser.
        None if !path.rsplit('/').next().unwrap_or_default().contains('.') => {
            match Assets::get(INDEX) {
                Some(file) => (INDEX, file),
                None => return not_found(),
            }
        }
        None => return not_found(),
    };
    let index = name == INDEX;
    // The page's bytes depend on the version it names.
    let etag = if index {
        format!("\"{}-{}\"", hex(&file.metadata.sha256_hash()), build())
    } else {
        format!("\"{}\"", hex(&file.metadata.sha256_hash()))
    };
    let sign_in_origin = state.auth.as_ref().map(|auth| {
        let authority = &auth.settings().authority;
        authority.origin().ascii_serialization()
    });
    let mut response = if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mime = file.metadata.mimetype();
        let body = if index {
            Body::from(versioned_index(&String::from_utf8_lossy(&file.data)))
        } else {
            Body::from(file.data.into_owned())
        };
        let mut response = Response::new(body);
        if let Ok(value) = HeaderValue::from_str(mime) {
            response.headers_mut().insert(header::CONTENT_TYPE, value);
        }
        response
    };
    let h = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, value);
    }
    // The page and unversioned files are revalidated on every load (the ETag makes that a 304):
    // an upgraded server never leaves a browser running yesterday's script against today's API.
    // This version's files never change under their name.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if immutable {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        }),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if name.ends_with(".html")
        && let Ok(value) =
            HeaderValue::from_str(&content_security_policy(sign_in_origin.as_deref()))
    {
        h.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

fn not_found() -> Response {
    problem(
        StatusCode::NOT_FOUND,
        "/problems/not-found",
        "Not found",
        "no such route".into(),
    )
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .take(16)
        .fold(String::with_capacity(32), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_only_this_origin_unless_sign_in_is_on() {
        let local = content_security_policy(None);
        assert!(local.contains("connect-src 'self';"));
        assert!(!local.contains("https://"));
        assert!(!local.contains("unsafe"));
        let entra = content_security_policy(Some("https://login.microsoftonline.com"));
        assert!(entra.contains("connect-src 'self' https://login.microsoftonline.com;"));
        assert!(entra.contains("frame-src 'self' https://login.microsoftonline.com;"));
    }

    #[test]
    fn the_app_and_its_vendored_libraries_are_embedded() {
        for file in [
            INDEX,
            "app.js",
            "pages.js",
            "app.css",
            "auth/redirect.html",
            "vendor/alpine/cdn.min.js",
            "vendor/uplot/uPlot.iife.min.js",
            "vendor/msal/msal-browser.min.js",
        ] {
            assert!(Assets::get(file).is_some(), "{file} is missing");
        }
    }

    /// `from "../core/api.js"` in `pages/events.js` → `core/api.js`.
    fn resolve(dir: &str, specifier: &str) -> String {
        let mut parts: Vec<&str> = if specifier.starts_with('/') {
            Vec::new()
        } else {
            dir.split('/').filter(|s| !s.is_empty()).collect()
        };
        for segment in specifier.split('/') {
            match segment {
                "" | "." => {}
                ".." => {
                    parts.pop();
                }
                s => parts.push(s),
            }
        }
        parts.join("/")
    }

    /// The app is ES modules the browser loads as they are: an import of a file that is not
    /// there would break the page only at run time. And each of the app's own files stays small
    /// (the page's markup, index.html, aside).
    #[test]
    fn every_module_import_names_an_embedded_file_and_no_app_file_is_long() {
        let mut modules = 0;
        for name in Assets::iter() {
            if name.starts_with("vendor/") || name == INDEX {
                continue;
            }
            let file = Assets::get(&name).expect("listed");
            let Ok(text) = std::str::from_utf8(&file.data) else {
                continue;
            };
            assert!(
                text.lines().count() <= 400,
                "{name}: over 400 lines, split it"
            );
            if !name.ends_with(".js") {
                continue;
            }
            let dir = name.rsplit_once('/').map_or("", |(dir, _)| dir);
            for line in text.lines().filter(|l| l.starts_with("import ")) {
                let Some((_, rest)) = line.split_once(" from \"") else {
                    continue;
                };
                let specifier = rest.split('"').next().unwrap_or_default();
                let target = resolve(dir, specifier);
                assert!(
                    Assets::get(&target).is_some(),
                    "{name} imports {specifier}: {target} is not in ui/"
                );
            }
            modules += 1;
        }
        assert!(modules >= 10, "only {modules} modules");
        assert_eq!(resolve("pages", "../core/api.js"), "core/api.js");
        assert_eq!(resolve("", "./pages/ask.js"), "pages/ask.js");
    }
}
