//! Schemas for the document only: bodies AOC reads as raw JSON, and the closed sets of words
//! some answers write as plain strings.

#![allow(dead_code, reason = "never built: the types only describe JSON")]

use utoipa::ToSchema;

/// What Microsoft Graph posts: a change notification collection.
#[derive(ToSchema)]
pub struct ChangeNotificationCollection {
    /// The notifications; each is checked on its own.
    value: Vec<ChangeNotification>,
}

/// One Graph change notification, or lifecycle notification. AOC reads `clientState`,
/// `tenantId`, `resource`, `subscriptionId` and `lifecycleEvent`; the other fields Graph sends
/// are accepted and ignored.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct ChangeNotification {
    /// Graph's id of the notification.
    id: Option<String>,
    /// `created`, `updated` or `deleted`.
    change_type: Option<String>,
    /// What changed, as Graph describes it.
    resource_data: Option<serde_json::Value>,
    /// When the subscription expires.
    #[schema(format = DateTime)]
    subscription_expiration_date_time: Option<String>,
    /// The secret given to Graph when subscribing; notifications without it are discarded.
    client_state: Option<String>,
    /// The tenant the change happened in (a GUID).
    #[schema(format = Uuid)]
    tenant_id: Option<String>,
    /// Graph's relative URI of what changed, e.g. `Users/6f1d2c3b-…`.
    resource: Option<String>,
    /// The subscription the notification belongs to.
    subscription_id: Option<String>,
    /// On lifecycle notifications: `reauthorizationRequired`, `subscriptionRemoved` or
    /// `missed`.
    lifecycle_event: Option<String>,
}

/// `status` of `GET /health`.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum HealthStatus {
    /// Every dependency answers.
    Ok,
    /// A dependency does not answer.
    Degraded,
}

/// `status` of one dependency of `GET /health`.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum DependencyStatus {
    Up,
    Down,
}

/// `auth` of `GET /api/me`: how callers sign in on this server.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum AuthMode {
    /// With an Entra ID access token.
    Entra,
    /// Sign-in is off: every caller is the local user, with every role.
    Off,
}
