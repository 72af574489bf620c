//! Entra directory audits, Entra sign-ins and Intune audit events from Microsoft Graph v1.0:
//! `$filter` on the event time, `@odata.nextLink` followed verbatim, one commit per page, the
//! watermark moved with the last page of each window.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::Value;

use super::cloud::Endpoints;
use super::error::{CallError, Service};
use super::http::{Call, MsHttp};
use super::identity::AppBearer;
use super::pacer::Pacer;
use super::run::{RunCtx, RunError};

/// Graph windows are split into pieces of this size, as Microsoft advises for sign-ins, so a
/// long backfill moves the watermark as it goes.
const WINDOW: Duration = Duration::hours(24);

const NON_PREMIUM: &str = "Authentication_RequestFromNonPremiumTenantOrB2CTenant";

pub(crate) struct GraphSource<'a> {
    pub http: &'a MsHttp,
    pub endpoints: &'a Endpoints,
    pub bearer: AppBearer<'a>,
    /// The tenant's identity-reports pacer, for directory audits and sign-ins.
    pub pacer: Option<&'a Pacer>,
    pub page_size: u32,
    /// The collection's path under the Graph root, and the time field its `$filter` uses.
    pub collection: &'static str,
    pub time_field: &'static str,
}

struct Page {
    records: Vec<Value>,
    next: Option<String>,
}

impl GraphSource<'_> {
    /// Collects `[from, to]` in windows of at most a day.
    pub async fn collect(
        &self,
        run: &mut RunCtx<'_>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        advance_watermark: bool,
    ) -> Result<(), RunError> {
        let (collection, time_field) = (self.collection, self.time_field);
        let mut start = from;
        while start < to {
            let end = (start + WINDOW).min(to);
            let filter = format!(
                "{time_field} ge {} and {time_field} le {}",
                literal(start),
                literal(end)
            );
            let mut url = format!(
                "{}?$filter={}&$top={}",
                Endpoints::join(&self.endpoints.graph, collection),
                encode(&filter),
                self.page_size
            );
            loop {
                let page = self.page(run, &url).await?;
                let events = run.normalize(page.records, "");
                let last = page.next.is_none();
                let watermark = (last && advance_watermark).then_some(end);
                run.commit(&events, None, None, watermark).await?;
                match page.next {
                    Some(next) => url = next,
                    None => break,
                }
            }
            start = end;
        }
        Ok(())
    }

    async fn page(&self, run: &RunCtx<'_>, url: &str) -> Result<Page, RunError> {
        let call = Call {
            service: Service::Graph,
            source: run.kind.name(),
            bearer: Some(&self.bearer),
            pacer: self.pacer,
        };
        let result = self
            .http
            .call(
                &call,
                |client| client.get(url),
                |answer| {
                    let mut body: Value =
                        serde_json::from_slice(&answer.body).map_err(|e| e.to_string())?;
                    let records = match body.get_mut("value").map(Value::take) {
                        Some(Value::Array(records)) => records,
                        _ => return Err("no \"value\" array in the page".into()),
                    };
                    let next = body
                        .get("@odata.nextLink")
                        .and_then(Value::as_str)
                        .map(str::to_owned);
                    Ok(Page { records, next })
                },
            )
            .await;
        result.map_err(|e| RunError::Call(explain(e, run)))
    }
}

/// Plain words for the 403s admins meet.
fn explain(error: CallError, run: &RunCtx<'_>) -> CallError {
    match error {
        CallError::Microsoft {
            service,
            status: 403,
            code,
            message,
            request_id,
        } => {
            let message = if code.as_deref() == Some(NON_PREMIUM) {
                format!(
                    "{message}. Sign-ins through Graph need Microsoft Entra ID P1 or P2 in this tenant. \
                     Sign-in records still arrive through the unified audit log (source \
                     o365.Audit.AzureActiveDirectory: UserLoggedIn / UserLoginFailed)."
                )
            } else {
                format!(
                    "{message}. The app registration needs {} (application permission, with admin consent).",
                    run.kind.permission()
                )
            };
            CallError::Microsoft {
                service,
                status: 403,
                code,
                message,
                request_id,
            }
        }
        other => other,
    }
}

/// An OData DateTimeOffset literal: unquoted RFC 3339 UTC.
fn literal(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Percent-encodes a query value (spaces as `%20`, as Graph documents).
pub(crate) fn encode(value: &str) -> String {
    const KEEP: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(value, KEEP).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_encoded_as_graph_documents() {
        let at = DateTime::parse_from_rfc3339("2025-03-01T00:00:00.123Z")
            .expect("valid")
            .with_timezone(&Utc);
        let filter = format!("activityDateTime ge {}", literal(at));
        assert_eq!(
            encode(&filter),
            "activityDateTime%20ge%202025-03-01T00%3A00%3A00Z"
        );
    }
}
