//! Graph v1.0 audit collections: `auditLogs/directoryAudits`, `auditLogs/signIns`,
//! `deviceManagement/auditEvents` with `$filter` (time field only), `$top`, `$orderby` and
//! `@odata.nextLink` paging.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::auth::{Resource, verify};
use crate::config::FaultKind;
use crate::data::Bound;
use crate::generate::Source;
use crate::state::{
    Inner, Surface, graph_error, graph_ids, host, json_response, retry_after_secs, run_with_fault,
    with_graph_ids,
};

/// Largest `$top`.
const MAX_TOP: usize = 1000;

/// One Graph audit collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Collection {
    DirectoryAudits,
    SignIns,
    IntuneAuditEvents,
}

impl Collection {
    fn source(self) -> Source {
        match self {
            Self::DirectoryAudits => Source::DirectoryAudits,
            Self::SignIns => Source::SignIns,
            Self::IntuneAuditEvents => Source::IntuneAudit,
        }
    }

    fn time_field(self) -> &'static str {
        match self {
            Self::SignIns => "createdDateTime",
            _ => "activityDateTime",
        }
    }

    fn context(self) -> &'static str {
        match self {
            Self::DirectoryAudits => "auditLogs/directoryAudits",
            Self::SignIns => "auditLogs/signIns",
            Self::IntuneAuditEvents => "deviceManagement/auditEvents",
        }
    }

    fn endpoint(self) -> &'static str {
        match self {
            Self::DirectoryAudits => "graph.directoryAudits",
            Self::SignIns => "graph.signIns",
            Self::IntuneAuditEvents => "graph.intuneAuditEvents",
        }
    }

    fn index(self) -> u8 {
        self as u8
    }

    /// Identity & access reports share the 5-requests-per-10-s limit.
    fn is_report(self) -> bool {
        matches!(self, Self::DirectoryAudits | Self::SignIns)
    }
}

/// A parsed query and where paging stands; serialized into `$skiptoken`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Snapshot {
    /// Collection.
    c: u8,
    /// Tenant.
    t: String,
    /// Offset of the next page.
    o: usize,
    /// Lower and upper time bounds: (nanoseconds since the epoch, inclusive).
    lo: Option<(i64, bool)>,
    hi: Option<(i64, bool)>,
    /// Newest first.
    d: bool,
    /// Page size.
    n: usize,
    /// Records available at this instant (nanoseconds) are the result set.
    a: i64,
}

fn to_nanos(t: DateTime<Utc>) -> i64 {
    t.timestamp_nanos_opt().unwrap_or(i64::MAX)
}

fn from_nanos(n: i64) -> DateTime<Utc> {
    Utc.timestamp_nanos(n)
}

fn encode_skiptoken(s: &Snapshot) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::json!(s).to_string())
}

fn decode_skiptoken(token: &str) -> Option<Snapshot> {
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// An OData date-time literal: unquoted ISO 8601 (`2025-03-01T00:00:00Z`, offsets, fractions;
/// no zone = UTC) or a date (`2025-03-01` = midnight UTC).
pub(crate) fn parse_literal(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

fn tighter_lower(a: Bound, b: (DateTime<Utc>, bool)) -> Bound {
    match a {
        Some((t, inclusive)) if t > b.0 || (t == b.0 && !inclusive) => a,
        _ => Some(b),
    }
}

fn tighter_upper(a: Bound, b: (DateTime<Utc>, bool)) -> Bound {
    match a {
        Some((t, inclusive)) if t < b.0 || (t == b.0 && !inclusive) => a,
        _ => Some(b),
    }
}

/// Parses `$filter`: comparisons of the time field with `ge`, `gt`, `le`, `lt`, `eq`, joined by
/// `and`. Anything else is an error message.
pub(crate) fn parse_filter(text: &str, field: &str) -> Result<(Bound, Bound), String> {
    let tokens: Vec<&str> = text.split_whitespace().collect();
    if tokens.is_empty() {
        return Err("The $filter expression is empty.".into());
    }
    let mut lo: Bound = None;
    let mut hi: Bound = None;
    let mut i = 0;
    loop {
        let clause = tokens.get(i..i + 3).ok_or_else(|| {
            format!("Invalid filter clause: '{text}'. (simulated: only '{field} ge|gt|le|lt|eq <date-time>' joined by 'and' is supported)")
        })?;
        if !clause[0].eq_ignore_ascii_case(field) {
            return Err(format!(
                "Invalid filter clause: property '{}' is not supported. (simulated: only {field} can be filtered)",
                clause[0]
            ));
        }
        let literal = clause[2];
        if literal.starts_with('\'') || literal.starts_with('"') {
            return Err(format!(
                "Invalid filter clause: a DateTimeOffset literal must not be quoted: {literal}"
            ));
        }
        let t = parse_literal(literal).ok_or_else(|| {
            format!("Invalid filter clause: '{literal}' is not a valid DateTimeOffset.")
        })?;
        match clause[1].to_ascii_lowercase().as_str() {
            "ge" => lo = tighter_lower(lo, (t, true)),
            "gt" => lo = tighter_lower(lo, (t, false)),
            "le" => hi = tighter_upper(hi, (t, true)),
            "lt" => hi = tighter_upper(hi, (t, false)),
            "eq" => {
                lo = tighter_lower(lo, (t, true));
                hi = tighter_upper(hi, (t, true));
            }
            other => {
                return Err(format!(
                    "Invalid filter clause: operator '{other}' is not supported."
                ));
            }
        }
        i += 3;
        match tokens.get(i) {
            None => return Ok((lo, hi)),
            Some(word) if word.eq_ignore_ascii_case("and") && i + 1 < tokens.len() => i += 1,
            Some(word) => {
                return Err(format!(
                    "Invalid filter clause: unexpected '{word}'. (simulated: clauses are joined by 'and')"
                ));
            }
        }
    }
}

fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Query options as a new query string (the `$` of system query options kept literal).
fn build_query(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            let key = match k.strip_prefix('$') {
                Some(rest) => format!("${}", encode(rest)),
                None => encode(k),
            };
            format!("{key}={}", encode(v))
        })
        .collect::<Vec<_>>()
        .join("&")
}

pub(crate) async fn directory_audits(
    state: State<Arc<Inner>>,
    headers: HeaderMap,
    uri: Uri,
    query: RawQuery,
) -> Response {
    list(state, headers, uri, query, Collection::DirectoryAudits).await
}

pub(crate) async fn sign_ins(
    state: State<Arc<Inner>>,
    headers: HeaderMap,
    uri: Uri,
    query: RawQuery,
) -> Response {
    list(state, headers, uri, query, Collection::SignIns).await
}

pub(crate) async fn intune_audit_events(
    state: State<Arc<Inner>>,
    headers: HeaderMap,
    uri: Uri,
    query: RawQuery,
) -> Response {
    list(state, headers, uri, query, Collection::IntuneAuditEvents).await
}

async fn list(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    uri: Uri,
    RawQuery(query): RawQuery,
    collection: Collection,
) -> Response {
    inner.count_request(collection.endpoint());
    let ids = graph_ids(&inner, &headers);
    let claims = match verify(&inner, &headers, Resource::Graph) {
        Ok(claims) => claims,
        Err(problem) => {
            return graph_error(
                &ids,
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                problem.graph_message(),
                None,
            );
        }
    };
    if collection.is_report()
        && let Some(wait) = inner.reports_limit(&claims.tid, &claims.appid)
    {
        let mut response = graph_error(
            &ids,
            StatusCode::TOO_MANY_REQUESTS,
            "activityLimitReached",
            "The request has been throttled",
            Some("throttledRequest"),
        );
        if let Ok(value) = retry_after_secs(wait).max(1).to_string().parse() {
            response.headers_mut().insert("Retry-After", value);
        }
        return response;
    }
    let fault = inner.pick_fault(&[
        FaultKind::Throttle,
        FaultKind::ServerError,
        FaultKind::Slow,
        FaultKind::Truncated,
    ]);
    let handler = async {
        let behaviour = inner.behaviour(&claims.tid);
        if collection == Collection::SignIns && !behaviour.sign_ins_premium {
            return graph_error(
                &ids,
                StatusCode::FORBIDDEN,
                "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
                "Neither tenant is B2C or tenant doesn't have premium license",
                None,
            );
        }
        if collection == Collection::IntuneAuditEvents && !behaviour.intune_permission {
            return graph_error(
                &ids,
                StatusCode::FORBIDDEN,
                "Authorization_RequestDenied",
                "Application is not authorized to perform this operation. Application must have one of the following scopes: DeviceManagementApps.Read.All, DeviceManagementApps.ReadWrite.All",
                None,
            );
        }
        let pairs = query_pairs(query.as_deref());
        let snapshot = match snapshot_of(&inner, &pairs, collection, &claims.tid) {
            Ok(s) => s,
            Err(message) => {
                return graph_error(&ids, StatusCode::BAD_REQUEST, "BadRequest", &message, None);
            }
        };
        page(&inner, &headers, &uri, &pairs, collection, snapshot, &ids)
    };
    run_with_fault(&inner, Surface::Graph, fault, &ids, handler).await
}

fn snapshot_of(
    inner: &Inner,
    pairs: &[(String, String)],
    collection: Collection,
    tid: &str,
) -> Result<Snapshot, String> {
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    if let Some(token) = get("$skiptoken") {
        return decode_skiptoken(token)
            .filter(|s| s.c == collection.index() && s.t == tid)
            .ok_or_else(|| "Invalid $skiptoken value.".to_string());
    }
    let field = collection.time_field();
    let (lo, hi) = match get("$filter") {
        Some(text) => parse_filter(text, field)?,
        None => (None, None),
    };
    let n = match get("$top") {
        Some(text) => match text.trim().parse::<usize>() {
            Ok(n) if n >= 1 => n.min(MAX_TOP),
            _ => return Err(format!("Invalid value '{text}' for query option $top.")),
        },
        None => inner.config.page_size.clamp(1, MAX_TOP),
    };
    let d = match get("$orderby") {
        None => true,
        Some(text) => {
            let words: Vec<&str> = text.split_whitespace().collect();
            match words.as_slice() {
                [f] if f.eq_ignore_ascii_case(field) => false,
                [f, dir] if f.eq_ignore_ascii_case(field) && dir.eq_ignore_ascii_case("asc") => {
                    false
                }
                [f, dir] if f.eq_ignore_ascii_case(field) && dir.eq_ignore_ascii_case("desc") => {
                    true
                }
                _ => {
                    return Err(format!(
                        "Invalid $orderby '{text}'. (simulated: only '{field} asc|desc' is supported)"
                    ));
                }
            }
        }
    };
    Ok(Snapshot {
        c: collection.index(),
        t: tid.to_string(),
        o: 0,
        lo: lo.map(|(t, i)| (to_nanos(t), i)),
        hi: hi.map(|(t, i)| (to_nanos(t), i)),
        d,
        n,
        a: to_nanos(Utc::now()),
    })
}

fn page(
    inner: &Inner,
    headers: &HeaderMap,
    uri: &Uri,
    pairs: &[(String, String)],
    collection: Collection,
    snapshot: Snapshot,
    ids: &(String, String),
) -> Response {
    let records = inner.data.graph_page(
        &snapshot.t,
        collection.source(),
        snapshot.lo.map(|(n, i)| (from_nanos(n), i)),
        snapshot.hi.map(|(n, i)| (from_nanos(n), i)),
        snapshot.d,
        from_nanos(snapshot.a),
        snapshot.o,
        snapshot.n + 1,
    );
    let more = records.len() > snapshot.n;
    let shown = &records[..records.len().min(snapshot.n)];
    let host = host(headers);
    let mut body =
        String::with_capacity(256 + shown.iter().map(|r| r.json.len() + 1).sum::<usize>());
    body.push_str(&format!(
        "{{\"@odata.context\":\"http://{host}/v1.0/$metadata#{}\"",
        collection.context()
    ));
    if more {
        // With Duplicate on, the last record of this page is also the first of the next.
        let step = if inner.faults().has(FaultKind::Duplicate) && shown.len() >= 2 {
            shown.len() - 1
        } else {
            shown.len()
        };
        let next = Snapshot {
            o: snapshot.o + step,
            ..snapshot
        };
        let mut carried: Vec<(String, String)> = pairs
            .iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case("$skiptoken"))
            .cloned()
            .collect();
        carried.push(("$skiptoken".into(), encode_skiptoken(&next)));
        let link = format!("http://{host}{}?{}", uri.path(), build_query(&carried));
        body.push_str(",\"@odata.nextLink\":");
        body.push_str(&serde_json::Value::String(link).to_string());
    }
    body.push_str(",\"value\":[");
    for (i, r) in shown.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&r.json);
    }
    body.push_str("]}");
    with_graph_ids(json_response(StatusCode::OK, body), ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> DateTime<Utc> {
        parse_literal(text).expect("literal")
    }

    #[test]
    fn filters_parse() {
        let (lo, hi) = parse_filter(
            "activityDateTime ge 2025-03-01T00:00:00Z and activityDateTime lt 2025-03-01T01:00:00Z",
            "activityDateTime",
        )
        .expect("parses");
        assert_eq!(lo, Some((t("2025-03-01T00:00:00Z"), true)));
        assert_eq!(hi, Some((t("2025-03-01T01:00:00Z"), false)));
        let (lo, hi) =
            parse_filter("createdDateTime eq 2025-03-01", "createdDateTime").expect("parses");
        assert_eq!(lo, hi);
        let (lo, _) = parse_filter(
            "createdDateTime ge 2025-03-01 and createdDateTime gt 2025-03-01T00:00:00Z",
            "createdDateTime",
        )
        .expect("parses");
        assert_eq!(lo, Some((t("2025-03-01T00:00:00Z"), false)));
        for bad in [
            "",
            "activityDateTime ge '2025-03-01T00:00:00Z'",
            "category eq 'Policy'",
            "activityDateTime ne 2025-03-01",
            "activityDateTime ge 2025-03-01 or activityDateTime le 2025-03-02",
            "activityDateTime ge 2025-03-01 and",
            "startswith(activityDisplayName,'Add')",
            "activityDateTime ge yesterday",
        ] {
            assert!(parse_filter(bad, "activityDateTime").is_err(), "{bad}");
        }
    }

    #[test]
    fn skiptokens_round_trip() {
        let s = Snapshot {
            c: 1,
            t: "x".into(),
            o: 10,
            lo: Some((5, true)),
            hi: None,
            d: true,
            n: 100,
            a: 99,
        };
        assert_eq!(decode_skiptoken(&encode_skiptoken(&s)), Some(s));
        assert_eq!(decode_skiptoken("garbage!"), None);
    }

    #[test]
    fn queries_keep_dollar_keys() {
        let q = build_query(&[
            (
                "$filter".into(),
                "activityDateTime ge 2025-03-01T10:00:00Z".into(),
            ),
            ("$top".into(), "3".into()),
        ]);
        assert_eq!(
            q,
            "$filter=activityDateTime+ge+2025-03-01T10%3A00%3A00Z&$top=3"
        );
    }
}
