//! Graph change-notification subscriptions: audit logs have none, so AOC subscribes to users and
//! groups and treats each notification as a cue to collect the directory audits at once. The
//! manager creates the subscriptions that are missing (adopting its own after a restart instead
//! of piling up new ones against the 100-per-app-per-tenant quota), renews them well before they
//! expire, and answers lifecycle notifications.

use std::collections::HashMap;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use aoc_model::TenantId;

use super::cloud::Endpoints;
use super::error::{CallError, Service};
use super::http::{Call, MsHttp};
use super::identity::{AppBearer, Secret, TokenCache};
use super::tenants::TenantConfig;

/// Directory resources allow 41,760 minutes; a little less leaves room for clock skew.
const LIFETIME: Duration = Duration::minutes(41_000);
/// Renewed when less than a quarter of the lifetime is left.
const RENEW_WHEN_LEFT: Duration = Duration::minutes(41_000 / 4);
/// What AOC subscribes to, and the changes it wants (users and groups support only these).
const RESOURCES: [&str; 2] = ["users", "groups"];
const CHANGE_TYPE: &str = "updated,deleted";

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Subscription {
    id: String,
    resource: String,
    #[serde(default)]
    notification_url: Option<String>,
    expiration_date_time: String,
}

#[derive(Debug, Clone)]
struct Held {
    id: String,
    expires: DateTime<Utc>,
}

/// One outcome of [`GraphSubscriptions::ensure`], for logs and health.
#[derive(Debug)]
pub struct SubscriptionOutcome {
    pub tenant_id: TenantId,
    pub resource: &'static str,
    pub action: &'static str,
    pub error: Option<CallError>,
}

pub struct GraphSubscriptions {
    http: MsHttp,
    tokens: TokenCache,
    endpoints: Endpoints,
    tenants: Vec<TenantConfig>,
    notification_url: String,
    client_state: Secret,
    held: Mutex<HashMap<(TenantId, &'static str), Held>>,
}

impl GraphSubscriptions {
    /// `notification_url` is AOC's public `…/api/webhooks/graph`; lifecycle notifications go to
    /// the same URL.
    pub fn new(
        http: MsHttp,
        tokens: TokenCache,
        endpoints: Endpoints,
        tenants: Vec<TenantConfig>,
        notification_url: String,
        client_state: Secret,
    ) -> Self {
        Self {
            http,
            tokens,
            endpoints,
            tenants,
            notification_url,
            client_state,
            held: Mutex::default(),
        }
    }

    fn call<'a>(&'a self, bearer: &'a AppBearer<'a>) -> Call<'a> {
        Call {
            service: Service::Graph,
            source: "graph.subscriptions",
            bearer: Some(bearer),
            pacer: None,
        }
    }

    fn bearer<'a>(&'a self, tenant: &'a TenantConfig) -> AppBearer<'a> {
        AppBearer {
            cache: &self.tokens,
            app: &tenant.app,
            resource: &self.endpoints.graph_resource,
        }
    }

    /// Creates missing subscriptions and renews those close to expiry, for every tenant.
    pub async fn ensure(&self) -> Vec<SubscriptionOutcome> {
        let mut outcomes = Vec::new();
        for tenant in &self.tenants {
            let existing = match self.list(tenant).await {
                Ok(list) => list,
                Err(error) => {
                    outcomes.push(SubscriptionOutcome {
                        tenant_id: tenant.id.clone(),
                        resource: "subscriptions",
                        action: "list",
                        error: Some(error),
                    });
                    continue;
                }
            };
            for resource in RESOURCES {
                let ours = existing.iter().find(|s| {
                    s.resource.eq_ignore_ascii_case(resource)
                        && s.notification_url.as_deref() == Some(self.notification_url.as_str())
                });
                let outcome = match ours {
                    Some(sub) => {
                        let expires = DateTime::parse_from_rfc3339(&sub.expiration_date_time)
                            .map(|t| t.with_timezone(&Utc))
                            .unwrap_or_else(|_| Utc::now());
                        self.held.lock().await.insert(
                            (tenant.id.clone(), resource),
                            Held {
                                id: sub.id.clone(),
                                expires,
                            },
                        );
                        if expires - Utc::now() < RENEW_WHEN_LEFT {
                            (
                                "renew",
                                self.renew_id(tenant, resource, &sub.id).await.err(),
                            )
                        } else {
                            ("keep", None)
                        }
                    }
                    None => ("create", self.create(tenant, resource).await.err()),
                };
                outcomes.push(SubscriptionOutcome {
                    tenant_id: tenant.id.clone(),
                    resource,
                    action: outcome.0,
                    error: outcome.1,
                });
            }
        }
        outcomes
    }

    /// Answers a lifecycle notification: `reauthorizationRequired` renews (which also
    /// reauthorizes), `subscriptionRemoved` creates the subscription again.
    ///
    /// # Errors
    /// Graph's error.
    pub async fn lifecycle(
        &self,
        tenant_id: &str,
        subscription_id: &str,
        event: &str,
    ) -> Result<(), CallError> {
        let Some(tenant) = self
            .tenants
            .iter()
            .find(|t| t.id.as_str().eq_ignore_ascii_case(tenant_id))
        else {
            return Ok(());
        };
        let resource = {
            let held = self.held.lock().await;
            held.iter()
                .find(|((t, _), h)| t == &tenant.id && h.id == subscription_id)
                .map(|((_, r), _)| *r)
        };
        match (event, resource) {
            ("subscriptionRemoved", Some(resource)) => self.create(tenant, resource).await,
            (_, Some(resource)) => self.renew_id(tenant, resource, subscription_id).await,
            // Not one AOC knows (an older instance's): the next `ensure` sorts it out.
            (_, None) => Ok(()),
        }
    }

    async fn list(&self, tenant: &TenantConfig) -> Result<Vec<Subscription>, CallError> {
        let bearer = self.bearer(tenant);
        let url = Endpoints::join(&self.endpoints.graph, "v1.0/subscriptions");
        self.http
            .call(
                &self.call(&bearer),
                |client| client.get(&url),
                |answer| {
                    let body: Value =
                        serde_json::from_slice(&answer.body).map_err(|e| e.to_string())?;
                    serde_json::from_value(body.get("value").cloned().unwrap_or(Value::Null))
                        .map_err(|e| e.to_string())
                },
            )
            .await
    }

    async fn create(&self, tenant: &TenantConfig, resource: &'static str) -> Result<(), CallError> {
        let bearer = self.bearer(tenant);
        let url = Endpoints::join(&self.endpoints.graph, "v1.0/subscriptions");
        let body = json!({
            "changeType": CHANGE_TYPE,
            "notificationUrl": self.notification_url,
            "lifecycleNotificationUrl": self.notification_url,
            "resource": resource,
            "expirationDateTime": expiry(),
            "clientState": self.client_state.expose(),
        });
        let created: Subscription = self
            .http
            .call(
                &self.call(&bearer),
                |client| client.post(&url).json(&body),
                |answer| serde_json::from_slice(&answer.body).map_err(|e| e.to_string()),
            )
            .await?;
        tracing::info!(tenant = %tenant.id, resource, subscription = created.id, "Graph change notifications subscribed");
        let expires = DateTime::parse_from_rfc3339(&created.expiration_date_time)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|_| Utc::now() + LIFETIME);
        self.held.lock().await.insert(
            (tenant.id.clone(), resource),
            Held {
                id: created.id,
                expires,
            },
        );
        Ok(())
    }

    async fn renew_id(
        &self,
        tenant: &TenantConfig,
        resource: &'static str,
        id: &str,
    ) -> Result<(), CallError> {
        let bearer = self.bearer(tenant);
        let url = Endpoints::join(&self.endpoints.graph, &format!("v1.0/subscriptions/{id}"));
        let expiration = expiry();
        let body = json!({ "expirationDateTime": expiration });
        let result = self
            .http
            .call(
                &self.call(&bearer),
                |client| client.patch(&url).json(&body),
                |_| Ok(()),
            )
            .await;
        match result {
            Ok(()) => {
                if let Some(held) = self
                    .held
                    .lock()
                    .await
                    .get_mut(&(tenant.id.clone(), resource))
                {
                    held.expires = Utc::now() + LIFETIME;
                }
                tracing::info!(tenant = %tenant.id, resource, subscription = id, "Graph subscription renewed");
                Ok(())
            }
            // Gone at Graph: subscribe again.
            Err(CallError::Microsoft { status: 404, .. }) => self.create(tenant, resource).await,
            Err(e) => Err(e),
        }
    }
}

fn expiry() -> String {
    (Utc::now() + LIFETIME).to_rfc3339_opts(SecondsFormat::Secs, true)
}
