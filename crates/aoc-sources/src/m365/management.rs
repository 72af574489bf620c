//! The Office 365 Management Activity API: subscriptions started where missing, content listed
//! in windows of at most 24 hours inside the 7-day limit (on `contentCreated`), `NextPageUri`
//! followed, blobs fetched in (contentCreated, id) order and each committed with its ledger
//! entry, so a blob is fetched once even across overlapping windows and restarts.

use std::collections::HashSet;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::Mutex;

use aoc_model::{Event, TenantId};
use aoc_store::{ContentRef, ContentStatus, SourceProblem};

use super::cloud::Endpoints;
use super::error::{CallError, Service};
use super::graph::encode;
use super::http::{Call, MsHttp, header};
use super::identity::AppBearer;
use super::run::{RunCtx, RunError};
use super::source::{ContentType, SourceKind};
use crate::telemetry;

/// The API reaches 7 days back; staying 5 minutes inside keeps a request that waited in a queue
/// from crossing the line.
pub const MAX_LOOKBACK: Duration = Duration::minutes(167 * 60 + 55);
/// Listing windows are at most this long.
const WINDOW: Duration = Duration::hours(24);

/// Which (tenant, content type) subscriptions this process has seen enabled.
#[derive(Default)]
pub struct Subscriptions {
    enabled: Mutex<HashSet<(TenantId, ContentType)>>,
}

pub(crate) struct ManagementSource<'a> {
    pub http: &'a MsHttp,
    pub root: String,
    pub bearer: AppBearer<'a>,
    pub subscriptions: &'a Subscriptions,
    pub content_type: ContentType,
    pub publisher_id: &'a str,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Blob {
    content_id: String,
    content_uri: String,
    content_created: String,
    #[serde(default)]
    content_expiration: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Subscription {
    content_type: String,
    status: String,
}

struct Listed {
    reference: ContentRef,
    uri: String,
}

impl ManagementSource<'_> {
    /// `https://manage.office.com/api/v1.0/{tenant}/activity/feed/`
    pub fn root(base: &reqwest::Url, tenant: &TenantId) -> String {
        Endpoints::join(base, &format!("api/v1.0/{tenant}/activity/feed/"))
    }

    fn call(&self) -> Call<'_> {
        Call {
            service: Service::Management,
            source: SourceKind::Management(self.content_type).name(),
            bearer: Some(&self.bearer),
            pacer: None,
        }
    }

    /// `url` with `PublisherIdentifier`, which every call carries (blob downloads included) so
    /// AOC gets its own throttling quota instead of the shared pool.
    fn with_publisher(&self, url: &str) -> String {
        if url.to_ascii_lowercase().contains("publisheridentifier=") {
            return url.to_owned();
        }
        let sep = if url.contains('?') { '&' } else { '?' };
        format!(
            "{url}{sep}PublisherIdentifier={}",
            encode(self.publisher_id)
        )
    }

    /// Collects the content created in `[from, to)`.
    pub async fn collect(
        &self,
        run: &mut RunCtx<'_>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        advance_watermark: bool,
    ) -> Result<(), RunError> {
        self.collect_windows(run, from, to, advance_watermark)
            .await
            .map_err(|e| match e {
                RunError::Call(call) => RunError::Call(explain(call, self.content_type)),
                other => other,
            })
    }

    async fn collect_windows(
        &self,
        run: &mut RunCtx<'_>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        advance_watermark: bool,
    ) -> Result<(), RunError> {
        self.ensure_subscription(&run.tenant.id).await?;
        let mut start = from.max(Utc::now() - MAX_LOOKBACK);
        while start < to {
            let end = (start + WINDOW).min(to);
            let mut listed = self.list_window(run, &mut start, end).await?;
            listed.sort_by(|a, b| {
                (a.reference.created, &a.reference.id).cmp(&(b.reference.created, &b.reference.id))
            });
            let refs: Vec<ContentRef> = listed.iter().map(|l| l.reference.clone()).collect();
            let statuses = run
                .store
                .list_content(&run.tenant.id, run.kind.name(), &refs)
                .await?;
            let pending: Vec<&Listed> = listed
                .iter()
                .zip(statuses)
                .filter(|(_, status)| *status == ContentStatus::Listed)
                .map(|(l, _)| l)
                .collect();
            let watermark = advance_watermark.then_some(end);
            if pending.is_empty() {
                run.commit(&[], None, None, watermark).await?;
            }
            for (i, blob) in pending.iter().enumerate() {
                let last = i + 1 == pending.len();
                let watermark = if last { watermark } else { None };
                match self.fetch_blob(run, blob).await? {
                    Some(events) => {
                        run.commit(
                            &events,
                            Some(blob.reference.created),
                            Some(&blob.reference.id),
                            watermark,
                        )
                        .await?;
                    }
                    // Gone: already marked expired in the ledger; only the watermark moves.
                    None => {
                        run.commit(&[], None, None, watermark).await?;
                    }
                }
            }
            start = end;
        }
        Ok(())
    }

    /// The blob's records; `None` when it is gone (expired, or deleted at the source), which is
    /// recorded in the ledger and reported, not a failure of the run.
    async fn fetch_blob(
        &self,
        run: &mut RunCtx<'_>,
        blob: &Listed,
    ) -> Result<Option<Vec<Event>>, RunError> {
        let expired = |code: &str, message: String| SourceProblem {
            at: Utc::now(),
            code: Some(code.to_owned()),
            message,
        };
        if blob.reference.expires.is_some_and(|e| e <= Utc::now()) {
            self.mark_gone(run, blob, expired("content_expired", format!(
                "content {} expired before AOC could fetch it; its records are lost to this API (Purview search still has them)",
                blob.reference.id
            )))
            .await?;
            return Ok(None);
        }
        let url = self.with_publisher(&blob.uri);
        let result = self
            .http
            .call(
                &self.call(),
                |client| client.get(&url),
                |answer| match serde_json::from_slice::<Value>(&answer.body) {
                    Ok(Value::Array(records)) => Ok(records),
                    Ok(_) => Err("a content blob is not a JSON array".into()),
                    Err(e) => Err(e.to_string()),
                },
            )
            .await;
        match result {
            Ok(records) => {
                let events = run.normalize(records, &format!(" of content {}", blob.reference.id));
                Ok(Some(events))
            }
            Err(CallError::Microsoft {
                code: Some(code),
                message,
                ..
            }) if code == "AF20051" || code == "AF20050" => {
                self.mark_gone(run, blob, expired(&code, format!(
                    "content {} could not be fetched ({message}); its records are lost to this API",
                    blob.reference.id
                )))
                .await?;
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn mark_gone(
        &self,
        run: &mut RunCtx<'_>,
        blob: &Listed,
        problem: SourceProblem,
    ) -> Result<(), RunError> {
        run.store
            .mark_content_expired(&run.tenant.id, run.kind.name(), &blob.reference.id)
            .await?;
        telemetry::ContentExpired {
            source: run.kind.name(),
        }
        .emit();
        run.note_problem(problem);
        Ok(())
    }

    /// Every blob listed for `[start, end)`, following `NextPageUri`. Re-clamps `start` when the
    /// API says the window has aged past its limit, and (re)starts the subscription when it
    /// says there is none.
    async fn list_window(
        &self,
        run: &RunCtx<'_>,
        start: &mut DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<Listed>, RunError> {
        let mut resubscribed = false;
        let mut reclamped = false;
        'window: loop {
            let mut url = self.with_publisher(&format!(
                "{}subscriptions/content?contentType={}&startTime={}&endTime={}",
                self.root,
                self.content_type.as_str(),
                time_param(*start),
                time_param(end)
            ));
            let mut listed = Vec::new();
            loop {
                let result = self
                    .http
                    .call(
                        &self.call(),
                        |client| client.get(&url),
                        |answer| {
                            let blobs: Vec<Blob> =
                                serde_json::from_slice(&answer.body).map_err(|e| e.to_string())?;
                            let next = header(&answer.headers, "NextPageUri")
                                .or_else(|| header(&answer.headers, "NextPageUrl"))
                                .filter(|n| !n.trim().is_empty());
                            Ok((blobs, next))
                        },
                    )
                    .await;
                let (blobs, next) = match result {
                    Ok(page) => page,
                    Err(CallError::Microsoft {
                        code: Some(code), ..
                    }) if (code == "AF20022" || code == "AF20023") && !resubscribed => {
                        resubscribed = true;
                        self.start_subscription(&run.tenant.id).await?;
                        continue 'window;
                    }
                    Err(CallError::Microsoft {
                        code: Some(code), ..
                    }) if (code == "AF20030" || code == "AF20055") && !reclamped => {
                        reclamped = true;
                        *start = (*start).max(Utc::now() - MAX_LOOKBACK + Duration::minutes(1));
                        if *start >= end {
                            return Ok(Vec::new());
                        }
                        continue 'window;
                    }
                    Err(e) => return Err(e.into()),
                };
                for blob in blobs {
                    let Some(created) = parse_time(&blob.content_created) else {
                        continue;
                    };
                    listed.push(Listed {
                        reference: ContentRef {
                            id: blob.content_id,
                            created,
                            expires: blob.content_expiration.as_deref().and_then(parse_time),
                        },
                        uri: blob.content_uri,
                    });
                }
                match next {
                    Some(next) => url = self.with_publisher(&next),
                    None => return Ok(listed),
                }
            }
        }
    }

    async fn ensure_subscription(&self, tenant: &TenantId) -> Result<(), RunError> {
        let key = (tenant.clone(), self.content_type);
        if self.subscriptions.enabled.lock().await.contains(&key) {
            return Ok(());
        }
        let url = self.with_publisher(&format!("{}subscriptions/list", self.root));
        let list: Vec<Subscription> = self
            .http
            .call(
                &self.call(),
                |client| client.get(&url),
                |answer| serde_json::from_slice(&answer.body).map_err(|e| e.to_string()),
            )
            .await?;
        let enabled = list.iter().any(|s| {
            s.content_type
                .eq_ignore_ascii_case(self.content_type.as_str())
                && s.status.eq_ignore_ascii_case("enabled")
        });
        if !enabled {
            self.start_subscription(tenant).await?;
        }
        Ok(())
    }

    async fn start_subscription(&self, tenant: &TenantId) -> Result<(), RunError> {
        let url = self.with_publisher(&format!(
            "{}subscriptions/start?contentType={}",
            self.root,
            self.content_type.as_str()
        ));
        let result = self
            .http
            .call(
                &self.call(),
                |client| {
                    client
                        .post(&url)
                        .header("content-type", "application/json")
                        .body("{}")
                },
                |_| Ok(()),
            )
            .await;
        match result {
            Ok(()) => {}
            // Already enabled.
            Err(CallError::Microsoft {
                code: Some(code), ..
            }) if code == "AF20024" => {}
            Err(CallError::Microsoft {
                service,
                status,
                code: Some(code),
                message,
                request_id,
            }) if code == "AF20023" => {
                return Err(RunError::Call(CallError::Microsoft {
                    service,
                    status,
                    message: format!(
                        "{message}. The {} subscription was disabled by an administrator of the tenant; \
                         AOC cannot re-enable it until it is allowed again",
                        self.content_type.as_str()
                    ),
                    code: Some(code),
                    request_id,
                }));
            }
            Err(e) => return Err(e.into()),
        }
        tracing::info!(tenant = %tenant, content_type = self.content_type.as_str(), "subscription started");
        self.subscriptions
            .enabled
            .lock()
            .await
            .insert((tenant.clone(), self.content_type));
        Ok(())
    }
}

/// Plain words for the errors admins meet when setting AOC up.
fn explain(error: CallError, content_type: ContentType) -> CallError {
    let CallError::Microsoft {
        service,
        status,
        code,
        message,
        request_id,
    } = error
    else {
        return error;
    };
    let hint = match code.as_deref() {
        Some("AF10001") => Some(format!(
            "The app registration needs {} (application permission, with admin consent).",
            SourceKind::Management(content_type).permission()
        )),
        Some("AF20011") => Some(
            "Unified audit logging may be off in this tenant (Purview > Audit), or was switched on \
             less than an hour ago; AOC retries at every run."
                .to_owned(),
        ),
        Some("AF20010" | "AF20013") => {
            Some("The tenant id must be the tenant's GUID, the same the app signs in to.".to_owned())
        }
        _ => None,
    };
    CallError::Microsoft {
        service,
        status,
        message: match hint {
            Some(hint) => format!("{message}. {hint}"),
            None => message,
        },
        code,
        request_id,
    }
}

/// `YYYY-MM-DDTHH:MM:SS`, UTC without an offset, as the API documents.
fn time_param(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// `contentCreated` values: RFC 3339, or without an offset (UTC).
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_the_apis_formats() {
        let at = parse_time("2025-03-01T10:20:00.123Z").expect("rfc3339");
        assert_eq!(time_param(at), "2025-03-01T10:20:00");
        assert_eq!(
            parse_time("2025-03-01T10:20:00"),
            parse_time("2025-03-01T10:20:00Z")
        );
        assert_eq!(parse_time("yesterday"), None);
    }
}
