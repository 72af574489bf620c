//! Graph change notifications: `/v1.0/subscriptions` with the validation handshake, delivery of
//! `users` / `groups` change notifications when directory-audit records appear, lifecycle
//! notifications on request.
//!
//! This module holds the limits, the subscription record and the notification formats; the
//! HTTP endpoints are in `endpoints`, the handshake and the background delivery in `delivery`.

mod delivery;
mod endpoints;
#[cfg(test)]
mod tests;

use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::generate::graph_time;

pub(crate) use delivery::run;
pub(crate) use endpoints::{create, delete, get_one, lifecycle, list, reauthorize, update};

/// How often the notifier looks for new records.
pub(crate) const TICK: StdDuration = StdDuration::from_secs(2);
/// Validation answers must come within this.
const VALIDATION_TIMEOUT: StdDuration = StdDuration::from_secs(10);
/// Notification receivers must answer within this.
const DELIVERY_TIMEOUT: StdDuration = StdDuration::from_secs(3);
/// Undeliverable notifications are dropped after this.
const RETRY_HORIZON_HOURS: i64 = 4;
/// Largest lifetime of `users` / `groups` subscriptions.
const MAX_LIFETIME_MINUTES: i64 = 41_760;
/// Shorter requested lifetimes are raised to this.
const MIN_LIFETIME_MINUTES: i64 = 45;
/// Subscriptions per app per tenant.
const QUOTA: usize = 100;

/// One Graph subscription.
#[derive(Debug, Clone)]
pub(crate) struct GraphSubscription {
    pub id: String,
    pub tid: String,
    pub app_id: String,
    pub creator_id: String,
    pub change_type: String,
    pub notification_url: String,
    pub lifecycle_url: Option<String>,
    pub resource: String,
    pub expiration: DateTime<Utc>,
    pub client_state: Option<String>,
    pub tls: String,
    /// Records available up to here have been notified.
    pub cursor: DateTime<Utc>,
    /// A `reauthorizationRequired` lifecycle event is pending: delivery is paused.
    pub needs_reauth: bool,
}

impl GraphSubscription {
    fn to_json(&self, host: &str, with_context: bool) -> Value {
        let mut m = serde_json::Map::new();
        if with_context {
            m.insert(
                "@odata.context".into(),
                json!(format!(
                    "http://{host}/v1.0/$metadata#subscriptions/$entity"
                )),
            );
        }
        m.insert("id".into(), json!(self.id));
        m.insert("applicationId".into(), json!(self.app_id));
        m.insert("creatorId".into(), json!(self.creator_id));
        m.insert("includeResourceData".into(), json!(false));
        m.insert("encryptionCertificate".into(), Value::Null);
        m.insert("encryptionCertificateId".into(), Value::Null);
        m.insert("notificationQueryOptions".into(), Value::Null);
        m.insert("notificationUrlAppId".into(), Value::Null);
        m.insert("changeType".into(), json!(self.change_type));
        m.insert("notificationUrl".into(), json!(self.notification_url));
        m.insert("lifecycleNotificationUrl".into(), json!(self.lifecycle_url));
        m.insert("resource".into(), json!(self.resource));
        m.insert(
            "expirationDateTime".into(),
            json!(graph_time(self.expiration)),
        );
        m.insert("clientState".into(), json!(self.client_state));
        m.insert("latestSupportedTlsVersion".into(), json!(self.tls));
        Value::Object(m)
    }

    /// What a directory-audit record means for this subscription: `(resource, type name, id)`.
    fn matches(&self, record: &Value) -> Option<(String, &'static str, String)> {
        let resource = self.resource.to_ascii_lowercase();
        let mut parts = resource.split('/');
        let (kind, filter_id) = (parts.next()?, parts.next());
        let (wanted, collection, odata) = match kind {
            "users" => ("user", "Users", "#Microsoft.Graph.User"),
            "groups" => ("group", "Groups", "#Microsoft.Graph.Group"),
            _ => return None,
        };
        record
            .get("targetResources")?
            .as_array()?
            .iter()
            .filter(|t| {
                t.get("type")
                    .and_then(Value::as_str)
                    .is_some_and(|ty| ty.eq_ignore_ascii_case(wanted))
            })
            .filter_map(|t| t.get("id").and_then(Value::as_str))
            .find(|id| filter_id.is_none_or(|f| f.eq_ignore_ascii_case(id)))
            .map(|id| (format!("{collection}/{id}"), odata, id.to_string()))
    }
}

/// Graph's `+00:00` offset style of notification times.
fn offset_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// .NET ticks, the style of `sequenceNumber`.
fn ticks(t: DateTime<Utc>) -> i64 {
    t.timestamp_nanos_opt().unwrap_or(0) / 100 + 621_355_968_000_000_000
}
