//! Microsoft Graph change notifications: the shared secret they must carry, and the signals the
//! valid ones become for the scheduler.
//!
//! Audit logs have no change notifications of their own, so a notification is only a hint that
//! something changed in a tenant (a user, a group's members) and that its audit logs are worth
//! polling now rather than at the next scheduled run. Losing one costs latency, never data.

use std::fmt;

use serde_json::Value;
use tokio::sync::mpsc::{Sender, error::TrySendError};

/// What a valid notification asks of the scheduler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookSignal {
    /// Something changed in `tenant_id`: `resource` is Graph's relative URI of it
    /// (`Users/6f1d…`, casing as Graph sends it).
    Changed { tenant_id: String, resource: String },
    /// A subscription needs care: `event` is `reauthorizationRequired`, `subscriptionRemoved`
    /// or `missed`.
    Lifecycle {
        tenant_id: String,
        subscription_id: String,
        event: String,
    },
}

/// The Graph webhook's configuration: the `clientState` every notification must carry, and
/// where valid notifications go.
pub struct GraphWebhook {
    /// Never logged, serialized or printed.
    client_state: String,
    signals: Sender<WebhookSignal>,
}

impl fmt::Debug for GraphWebhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GraphWebhook")
            .field("client_state", &"***")
            .finish_non_exhaustive()
    }
}

/// What became of one batch of notifications.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Delivery {
    /// Carried the right `clientState`, were understood and were handed to the scheduler.
    pub accepted: usize,
    /// Wrong or missing `clientState`: discarded.
    pub rejected: usize,
    /// Right `clientState` but missing what a signal needs (a tenant GUID, a resource).
    pub malformed: usize,
    /// Valid, but the scheduler's queue was full or gone: it polls on its own anyway.
    pub dropped: usize,
}

impl Delivery {
    /// Notifications that proved they hold the secret.
    pub fn authenticated(&self) -> usize {
        self.accepted + self.malformed + self.dropped
    }
}

impl GraphWebhook {
    /// `client_state` is the secret given to Graph when subscribing. An empty one matches
    /// nothing, so a blank setting cannot open the endpoint.
    pub fn new(client_state: String, signals: Sender<WebhookSignal>) -> Self {
        Self {
            client_state,
            signals,
        }
    }

    fn holds_secret(&self, given: Option<&str>) -> bool {
        let expected = self.client_state.as_bytes();
        !expected.is_empty() && constant_time_eq(given.unwrap_or_default().as_bytes(), expected)
    }

    /// Checks every notification of a `changeNotificationCollection`'s `value` and sends the
    /// valid ones on without waiting.
    pub(crate) fn deliver(&self, notifications: &[Value]) -> Delivery {
        let mut delivery = Delivery::default();
        for notification in notifications {
            let field = |name: &str| notification.get(name).and_then(Value::as_str);
            if !self.holds_secret(field("clientState")) {
                delivery.rejected += 1;
                continue;
            }
            let Some(signal) = signal_of(notification) else {
                delivery.malformed += 1;
                continue;
            };
            match self.signals.try_send(signal) {
                Ok(()) => delivery.accepted += 1,
                Err(TrySendError::Full(_)) => delivery.dropped += 1,
                Err(TrySendError::Closed(_)) => {
                    tracing::warn!("the scheduler no longer takes webhook signals");
                    delivery.dropped += 1;
                }
            }
        }
        delivery
    }
}

/// The signal an authenticated notification stands for, when it has what one needs.
fn signal_of(notification: &Value) -> Option<WebhookSignal> {
    let field = |name: &str| {
        notification
            .get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    // Tenant ids are compared with configured ones, which are lowercase hyphenated GUIDs.
    let tenant_id = uuid::Uuid::parse_str(field("tenantId")?)
        .ok()?
        .hyphenated()
        .to_string();
    if let Some(event) = field("lifecycleEvent") {
        return Some(WebhookSignal::Lifecycle {
            tenant_id,
            subscription_id: field("subscriptionId")?.to_owned(),
            event: event.to_owned(),
        });
    }
    Some(WebhookSignal::Changed {
        tenant_id,
        resource: field("resource")?.to_owned(),
    })
}

/// Compares `given` with `expected` in time that depends only on `expected`'s length: every byte
/// of `expected` is visited whatever `given` holds, and a length difference is folded into the
/// result instead of returning early.
fn constant_time_eq(given: &[u8], expected: &[u8]) -> bool {
    let mut difference = u64::from(given.len() != expected.len());
    for (i, e) in expected.iter().enumerate() {
        let g = given.get(i).copied().unwrap_or(!*e);
        difference |= u64::from(g ^ e);
    }
    std::hint::black_box(difference) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_compare_needs_every_byte_and_the_length() {
        assert!(constant_time_eq(b"aoc-cs-1", b"aoc-cs-1"));
        assert!(!constant_time_eq(b"aoc-cs-2", b"aoc-cs-1"));
        assert!(!constant_time_eq(b"aoc-cs-", b"aoc-cs-1"));
        assert!(!constant_time_eq(b"aoc-cs-11", b"aoc-cs-1"));
        assert!(!constant_time_eq(b"", b"aoc-cs-1"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn an_empty_secret_matches_nothing_and_debug_hides_it() {
        let (tx, _rx) = tokio::sync::mpsc::channel(1);
        let open = GraphWebhook::new(String::new(), tx.clone());
        assert!(!open.holds_secret(Some("")));
        assert!(!open.holds_secret(None));
        let hook = GraphWebhook::new("s3cret-value".into(), tx);
        assert!(hook.holds_secret(Some("s3cret-value")));
        assert!(!hook.holds_secret(None));
        assert!(!format!("{hook:?}").contains("s3cret"));
    }

    #[test]
    fn signals_need_a_tenant_guid_and_a_resource_or_event() {
        let changed = serde_json::json!({"tenantId": "8F3C2A1E-5B7D-4E9A-9C21-6D4F0B7A3E58",
            "resource": "Users/1", "changeType": "updated"});
        assert_eq!(
            signal_of(&changed),
            Some(WebhookSignal::Changed {
                tenant_id: "8f3c2a1e-5b7d-4e9a-9c21-6d4f0b7a3e58".into(),
                resource: "Users/1".into()
            })
        );
        assert_eq!(
            signal_of(&serde_json::json!({"tenantId": "contoso", "resource": "Users/1"})),
            None
        );
        assert_eq!(
            signal_of(&serde_json::json!({"tenantId": "8f3c2a1e-5b7d-4e9a-9c21-6d4f0b7a3e58"})),
            None
        );
        assert_eq!(
            signal_of(
                &serde_json::json!({"tenantId": "8f3c2a1e-5b7d-4e9a-9c21-6d4f0b7a3e58",
                "lifecycleEvent": "missed"})
            ),
            None,
            "a lifecycle event names its subscription"
        );
    }
}
