//! The router and its middleware stack.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware;
use axum::routing::{delete, get, patch, post};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;

use crate::audit;
use crate::auth::{self, Role, require};
use crate::error::problem;
use crate::ratelimit::ExpensiveLimiter;
use crate::routes::{
    aggregations, annotations, audit_trail, events, export, fetch, health, me, sources, webhooks,
};
use crate::telemetry::{self, REQUEST_ID};
use crate::{ApiSettings, AppState};

fn cors(settings: &ApiSettings) -> Option<CorsLayer> {
    if settings.cors_origins.is_empty() {
        return None;
    }
    let base = CorsLayer::new()
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, REQUEST_ID])
        .expose_headers([REQUEST_ID]);
    if settings.cors_origins.iter().any(|o| o == "*") {
        // Any origin, and therefore never credentials.
        return Some(base.allow_origin(AllowOrigin::any()));
    }
    let origins: Vec<HeaderValue> = settings
        .cors_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    Some(base.allow_origin(origins).allow_credentials(true))
}

async fn not_found() -> axum::response::Response {
    problem(
        StatusCode::NOT_FOUND,
        "/problems/not-found",
        "Not found",
        "no such route".into(),
    )
}

/// `/api`: every route needs a signed-in caller (see [`auth::authenticate`]) with the role its
/// gate names; `/api/me` needs no role. Audited routes write AOC's audit trail (see
/// [`audit::middleware`]), refusals included. The Graph webhook is outside: Graph calls it
/// without a token and proves itself with the shared `clientState`.
fn api(state: &AppState) -> Router<AppState> {
    let reader = Router::new()
        .route("/events", get(events::list))
        .route("/events/aggregations", get(aggregations::aggregations))
        .route("/events/{id}", get(annotations::event_detail))
        .route("/tags", get(annotations::list_tags))
        .route("/sources", get(sources::list))
        .route("/sources/coverage", get(sources::coverage))
        .route_layer(require(Role::Reader));
    let analyst = Router::new()
        .route("/events/export", get(export::export))
        .route("/events/{id}/tags", post(annotations::add_tag))
        .route("/events/{id}/tags/{tag}", delete(annotations::remove_tag))
        .route("/events/{id}/comments", post(annotations::add_comment))
        .route(
            "/comments/{id}",
            patch(annotations::edit_comment).delete(annotations::delete_comment),
        )
        .route_layer(require(Role::Analyst));
    let admin = Router::new()
        .route("/fetch-audit-logs", post(fetch::fetch_audit_logs))
        .route("/audit-trail", get(audit_trail::audit_trail))
        .route_layer(require(Role::Admin));
    Router::new()
        .route("/me", get(me::me))
        .merge(reader)
        .merge(analyst)
        .merge(admin)
        .route_layer(middleware::from_fn_with_state(
            audit::AuditState {
                app: state.clone(),
                seen: Default::default(),
            },
            audit::middleware,
        ))
        // Only the routes above; an unknown /api path stays a 404.
        .route_layer(middleware::from_fn_with_state(
            state.auth.clone(),
            auth::authenticate,
        ))
        .route("/webhooks/graph", post(webhooks::graph))
        .layer(axum::Extension(ExpensiveLimiter::new(
            state.settings.expensive_per_minute,
        )))
}

pub fn router(state: AppState) -> Router {
    let api = api(&state);
    let mut app = Router::new()
        .route("/health", get(health::health))
        .route("/metrics", get(health::metrics))
        .nest("/api", api)
        .fallback(not_found)
        // One body limit, the configured one: axum's own default (2 MiB) is switched off.
        .layer(RequestBodyLimitLayer::new(state.settings.max_body_bytes))
        .layer(DefaultBodyLimit::disable())
        .layer(CatchPanicLayer::new());
    if let Some(cors) = cors(&state.settings) {
        app = app.layer(cors);
    }
    // Outermost, so every response (errors from the layers above included) gets an id and a log line.
    app.layer(middleware::from_fn(telemetry::middleware))
        .with_state(state)
}
