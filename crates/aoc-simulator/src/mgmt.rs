//! The Office 365 Management Activity API under `/api/v1.0/{tenant}/activity/feed/`.

// Error paths return the finished error answer (a `Response`), which is large by nature.
#![allow(clippy::result_large_err)]

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, DurationRound, NaiveDate, NaiveDateTime, Utc};
use serde_json::{Value, json};

use crate::auth::{Resource, verify};
use crate::config::FaultKind;
use crate::data::{Blob, api_time};
use crate::generate::ContentType;
use crate::rng::is_guid;
use crate::state::{
    Inner, MgmtSubscription, Surface, host, json_response, lock, mgmt_error, run_with_fault,
};

/// Blobs per content listing page.
pub(crate) const LIST_PAGE: usize = 20;

fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn bad(code: &str, message: &str) -> Response {
    mgmt_error(StatusCode::BAD_REQUEST, code, message)
}

/// A `startTime`/`endTime` value: `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM` or `YYYY-MM-DDTHH:MM:SS`
/// (UTC). Beyond the documented formats a trailing `Z` and fractional seconds are accepted too,
/// since clients commonly send them.
pub(crate) fn parse_api_time(text: &str) -> Option<DateTime<Utc>> {
    let trimmed = text.trim();
    let core = trimmed.strip_suffix('Z').unwrap_or(trimmed);
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(core, format) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(core, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// Checks a listing window; `Err` is the error answer.
pub(crate) fn check_window(
    start: Option<&str>,
    end: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>, String, String), Response> {
    let window_rules = "startTime and endTime must be given together (or both omitted), be at most 24 hours apart, and startTime must be no more than 7 days in the past.";
    match (start, end) {
        (None, None) => {
            let end = now.duration_trunc(Duration::seconds(1)).unwrap_or(now);
            let start = end - Duration::hours(24);
            let fmt = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S").to_string();
            Ok((start, end, fmt(start), fmt(end)))
        }
        (Some(s), Some(e)) => {
            let parse = |name: &str, text: &str| {
                parse_api_time(text).ok_or_else(|| {
                    bad(
                        "AF20002",
                        &format!("Invalid {name} '{text}': expected YYYY-MM-DD, YYYY-MM-DDTHH:MM or YYYY-MM-DDTHH:MM:SS (UTC)."),
                    )
                })
            };
            let start = parse("startTime", s)?;
            let end = parse("endTime", e)?;
            if start >= end {
                return Err(bad("AF20055", "startTime must be before endTime."));
            }
            if end - start > Duration::hours(24) {
                return Err(bad("AF20030", window_rules));
            }
            if start < now - Duration::days(7) {
                return Err(bad("AF20030", window_rules));
            }
            Ok((start, end, s.to_string(), e.to_string()))
        }
        _ => Err(bad("AF20030", window_rules)),
    }
}

/// `nextPage` values: `{asof:%Y%m%d%H%M%S%3f}R{offset}`.
fn next_page_token(asof: DateTime<Utc>, offset: usize) -> String {
    format!("{}R{offset:09}", asof.format("%Y%m%d%H%M%S%3f"))
}

fn parse_next_page(text: &str) -> Option<(DateTime<Utc>, usize)> {
    let (stamp, offset) = text.split_once('R')?;
    if stamp.len() != 17 || !stamp.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let asof = NaiveDateTime::parse_from_str(stamp, "%Y%m%d%H%M%S%3f")
        .ok()?
        .and_utc();
    Some((asof, offset.parse().ok()?))
}

fn blob_json(blob: &Blob, host: &str, tenant: &str) -> Value {
    json!({
        "contentType": blob.content_type.name(),
        "contentId": blob.content_id,
        "contentUri": format!("http://{host}/api/v1.0/{tenant}/activity/feed/audit/{}", blob.content_id),
        "contentCreated": api_time(blob.created),
        "contentExpiration": api_time(blob.expiration())
    })
}

/// Common checks of every Management API request; `Ok` is the token's tenant.
fn prelude(
    inner: &Inner,
    endpoint: &str,
    version: &str,
    tenant: &str,
    headers: &HeaderMap,
    pairs: &[(String, String)],
) -> Result<String, Response> {
    inner.count_request(endpoint);
    if param(pairs, "PublisherIdentifier").is_none_or(str::is_empty) {
        lock(&inner.stats).requests_without_publisher_identifier += 1;
    }
    if version != "v1.0" && version != "v1" {
        return Err(StatusCode::NOT_FOUND.into_response());
    }
    let claims = verify(inner, headers, Resource::Management).map_err(|_| {
        let mut response = mgmt_error(
            StatusCode::UNAUTHORIZED,
            "AF10001",
            "Authorization failed: the bearer token is missing, malformed, expired or not issued for the Office 365 Management APIs. (simulated)",
        );
        response
            .headers_mut()
            .insert("WWW-Authenticate", HeaderValue::from_static("Bearer"));
        response
    })?;
    if !is_guid(tenant) {
        return Err(bad(
            "AF20013",
            &format!("The tenant ID '{tenant}' in the URL is not a valid GUID."),
        ));
    }
    if !tenant.eq_ignore_ascii_case(&claims.tid) {
        return Err(bad(
            "AF20010",
            &format!(
                "The tenant ID passed in the URL ({tenant}) does not match the tenant ID passed in the access token ({}).",
                claims.tid
            ),
        ));
    }
    Ok(claims.tid)
}

fn content_type(pairs: &[(String, String)]) -> Result<ContentType, Response> {
    let Some(text) = param(pairs, "contentType") else {
        return Err(bad(
            "AF20001",
            "A required parameter is missing: contentType.",
        ));
    };
    ContentType::parse(text).ok_or_else(|| {
        bad(
            "AF20020",
            &format!("The specified content type is not valid: {text}."),
        )
    })
}

fn disabled(inner: &Inner, tid: &str, ct: ContentType) -> bool {
    inner
        .behaviour(tid)
        .disabled_content_types
        .iter()
        .any(|d| d.eq_ignore_ascii_case(ct.name()))
}

fn disabled_error(ct: ContentType) -> Response {
    bad(
        "AF20023",
        &format!(
            "The subscription for {} was disabled by the tenant admin or service admin.",
            ct.name()
        ),
    )
}

const REQUEST_FAULTS: [FaultKind; 4] = [
    FaultKind::Throttle,
    FaultKind::ServerError,
    FaultKind::Slow,
    FaultKind::Truncated,
];

/// `…/activity/feed/subscriptions/{start|stop|list|content}`.
pub(crate) async fn subscriptions(
    State(inner): State<Arc<Inner>>,
    Path((version, tenant, operation)): Path<(String, String, String)>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let pairs = query_pairs(query.as_deref());
    let operation = operation.to_ascii_lowercase();
    let endpoint = match operation.as_str() {
        "start" | "stop" | "list" | "content" => format!("mgmt.subscriptions.{operation}"),
        _ => "mgmt.other".to_string(),
    };
    let tid = match prelude(&inner, &endpoint, &version, &tenant, &headers, &pairs) {
        Ok(tid) => tid,
        Err(response) => return response,
    };
    let expected = match operation.as_str() {
        "start" | "stop" => Method::POST,
        "list" | "content" => Method::GET,
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    if method != expected {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let fault = inner.pick_fault(&REQUEST_FAULTS);
    let ids = (String::new(), String::new());
    let handler = async {
        match operation.as_str() {
            "start" => start(&inner, &tid, &pairs, &body),
            "stop" => stop(&inner, &tid, &pairs),
            "list" => list(&inner, &tid),
            _ => content(&inner, &tid, &tenant, &headers, &pairs),
        }
    };
    run_with_fault(&inner, Surface::Management, fault, &ids, handler).await
}

fn start(inner: &Inner, tid: &str, pairs: &[(String, String)], body: &[u8]) -> Response {
    let ct = match content_type(pairs) {
        Ok(ct) => ct,
        Err(r) => return r,
    };
    if disabled(inner, tid, ct) {
        return disabled_error(ct);
    }
    let webhook = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        match serde_json::from_slice::<Value>(body) {
            Ok(v) => match v.get("webhook") {
                Some(w) if w.is_object() => {
                    let expiration = w
                        .get("expiration")
                        .and_then(Value::as_str)
                        .filter(|s| !s.is_empty());
                    json!({
                        "status": "enabled",
                        "address": w.get("address").cloned().unwrap_or(Value::Null),
                        "authId": w.get("authId").cloned().unwrap_or(Value::Null),
                        "expiration": expiration
                    })
                }
                _ => Value::Null,
            },
            Err(_) => return bad("AF20001", "The request body is not valid JSON."),
        }
    };
    let mut all = lock(&inner.mgmt_subscriptions);
    let subs = all.entry(tid.to_string()).or_default();
    if subs.get(&ct).is_some_and(|s| s.enabled) {
        return bad(
            "AF20024",
            "The subscription is already enabled. No property change.",
        );
    }
    subs.insert(
        ct,
        MgmtSubscription {
            enabled: true,
            webhook: webhook.clone(),
        },
    );
    let body = json!({ "contentType": ct.name(), "status": "enabled", "webhook": webhook });
    json_response(StatusCode::OK, body.to_string())
}

fn stop(inner: &Inner, tid: &str, pairs: &[(String, String)]) -> Response {
    let ct = match content_type(pairs) {
        Ok(ct) => ct,
        Err(r) => return r,
    };
    let mut all = lock(&inner.mgmt_subscriptions);
    match all.get_mut(tid).and_then(|subs| subs.get_mut(&ct)) {
        Some(sub) if sub.enabled => {
            sub.enabled = false;
            StatusCode::OK.into_response()
        }
        _ => bad(
            "AF20022",
            "No subscription found for the specified content type.",
        ),
    }
}

fn list(inner: &Inner, tid: &str) -> Response {
    let all = lock(&inner.mgmt_subscriptions);
    let items: Vec<Value> = all
        .get(tid)
        .map(|subs| {
            subs.iter()
                .map(|(ct, sub)| {
                    json!({
                        "contentType": ct.name(),
                        "status": if sub.enabled { "enabled" } else { "disabled" },
                        "webhook": sub.webhook
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    json_response(StatusCode::OK, Value::Array(items).to_string())
}

fn content(
    inner: &Inner,
    tid: &str,
    tenant: &str,
    headers: &HeaderMap,
    pairs: &[(String, String)],
) -> Response {
    let ct = match content_type(pairs) {
        Ok(ct) => ct,
        Err(r) => return r,
    };
    if disabled(inner, tid, ct) {
        return disabled_error(ct);
    }
    let subscribed = lock(&inner.mgmt_subscriptions)
        .get(tid)
        .and_then(|subs| subs.get(&ct))
        .is_some_and(|s| s.enabled);
    if !subscribed {
        return bad(
            "AF20022",
            "No subscription found for the specified content type.",
        );
    }
    let now = Utc::now();
    let (start, end, start_text, end_text) =
        match check_window(param(pairs, "startTime"), param(pairs, "endTime"), now) {
            Ok(window) => window,
            Err(r) => return r,
        };
    let (asof, offset) = match param(pairs, "nextPage") {
        None => (now, 0),
        Some(token) => match parse_next_page(token) {
            Some((asof, offset)) if asof <= now => (asof, offset),
            _ => return bad("AF20031", "The nextPage value is not valid."),
        },
    };
    let blobs = inner.data.blobs_between(tid, ct, start, end, asof);
    if offset > blobs.len() {
        return bad("AF20031", "The nextPage value is not valid.");
    }
    let host = host(headers);
    let page: Vec<Value> = blobs
        .iter()
        .skip(offset)
        .take(LIST_PAGE)
        .map(|b| blob_json(b, &host, tenant))
        .collect();
    let mut response = json_response(StatusCode::OK, Value::Array(page).to_string());
    if offset + LIST_PAGE < blobs.len() {
        let mut url = format!(
            "http://{host}/api/v1.0/{tenant}/activity/feed/subscriptions/content?contentType={}&startTime={}&endTime={}&nextPage={}",
            ct.name(),
            encode(&start_text),
            encode(&end_text),
            next_page_token(asof, offset + LIST_PAGE)
        );
        if let Some(publisher) = param(pairs, "PublisherIdentifier") {
            url.push_str(&format!("&PublisherIdentifier={}", encode(publisher)));
        }
        if let Ok(value) = HeaderValue::from_str(&url) {
            response.headers_mut().insert("NextPageUri", value);
        }
    }
    response
}

/// `GET …/activity/feed/audit/{contentId}`.
pub(crate) async fn audit(
    State(inner): State<Arc<Inner>>,
    Path((version, tenant, content_id)): Path<(String, String, String)>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let pairs = query_pairs(query.as_deref());
    let tid = match prelude(&inner, "mgmt.audit", &version, &tenant, &headers, &pairs) {
        Ok(tid) => tid,
        Err(response) => return response,
    };
    let now = Utc::now();
    let not_found = || bad("AF20050", "The content requested does not exist.");
    let Some(blob) = inner.data.blob(&tid, &content_id) else {
        return not_found();
    };
    if blob.created > now {
        return not_found();
    }
    let expired = || bad("AF20051", "The content requested has expired.");
    if blob.expiration() <= now || lock(&inner.expired_blobs).contains(&content_id) {
        return expired();
    }
    let mut kinds = REQUEST_FAULTS.to_vec();
    kinds.push(FaultKind::Expired);
    let fault = inner.pick_fault(&kinds);
    if fault == Some(FaultKind::Expired) {
        inner.count_fault(FaultKind::Expired);
        if lock(&inner.expired_blobs).insert(content_id.clone()) {
            lock(&inner.stats).expired_content_ids.push(content_id);
        }
        return expired();
    }
    let ids = (String::new(), String::new());
    let handler = async {
        let mut body =
            String::with_capacity(blob.records.iter().map(|r| r.json.len() + 1).sum::<usize>() + 2);
        body.push('[');
        for (i, r) in blob.records.iter().enumerate() {
            if i > 0 {
                body.push(',');
            }
            body.push_str(&r.json);
        }
        body.push(']');
        json_response(StatusCode::OK, body)
    };
    run_with_fault(&inner, Surface::Management, fault, &ids, handler).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        parse_api_time("2025-03-10T12:00:00").expect("time")
    }

    fn code(
        r: Result<(DateTime<Utc>, DateTime<Utc>, String, String), Response>,
    ) -> Option<StatusCode> {
        r.err().map(|r| r.status())
    }

    #[test]
    fn api_times_parse() {
        for text in [
            "2025-03-01",
            "2025-03-01T10:15",
            "2025-03-01T10:15:42",
            "2025-03-01T10:15:42Z",
            "2025-03-01T10:15:42.123",
            "2025-03-01T10:15:42.123Z",
        ] {
            assert!(parse_api_time(text).is_some(), "{text}");
        }
        assert!(parse_api_time("2025-03-01T10:15:42+01:00").is_none());
        assert!(parse_api_time("yesterday").is_none());
    }

    #[test]
    fn windows_are_checked() {
        assert!(check_window(Some("2025-03-10T00:00"), Some("2025-03-10T06:00"), now()).is_ok());
        assert!(check_window(None, None, now()).is_ok());
        assert_eq!(
            code(check_window(Some("2025-03-10"), None, now())),
            Some(StatusCode::BAD_REQUEST)
        );
        assert!(
            check_window(Some("2025-03-09T00:00"), Some("2025-03-10T00:00:01"), now()).is_err()
        );
        assert!(check_window(Some("2025-03-02T00:00"), Some("2025-03-02T06:00"), now()).is_err());
        assert!(check_window(Some("2025-03-10T06:00"), Some("2025-03-10T06:00"), now()).is_err());
        assert!(check_window(Some("2025-03-10T06:00"), Some("bad"), now()).is_err());
    }

    #[test]
    fn next_pages_round_trip() {
        let t = parse_api_time("2025-03-01T11:30:18.774Z").expect("time");
        let token = next_page_token(t, 40);
        assert_eq!(parse_next_page(&token), Some((t, 40)));
        assert_eq!(parse_next_page("20250301113018R774000031x"), None);
        assert_eq!(parse_next_page("nonsense"), None);
    }
}
