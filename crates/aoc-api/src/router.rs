//! The router and its middleware stack.
//!
//! Routes are added only with `routes!(handler)` on an [`OpenApiRouter`], which reads the
//! handler's `#[utoipa::path]` for both the route and its entry in the OpenAPI document: a route
//! cannot be served without being documented. The document is served at `/openapi.json`, with
//! Swagger UI at `/docs` (see [`crate::openapi`]).
//!
//! Every other path falls back to the web dashboard ([`crate::ui`]) or a 404.
//!
//! To add a route: write the handler with a `#[utoipa::path(...)]` (method, path relative to
//! its router, parameters, every answer, and `security` naming the role), then add
//! `.routes(routes!(module::handler))` to the sub-router of that role below.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Method, header};
use axum::middleware;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit;
use crate::auth::{self, Role, require};
use crate::compressed::CompressedPages;
use crate::openapi;
use crate::ratelimit::ExpensiveLimiter;
use crate::routes::{
    aggregations, annotations, ask, audit_trail, client_config, events, explain, export, facets,
    fetch, health, jobs, me, saved_searches, sources, webhooks,
};
use crate::telemetry::{self, REQUEST_ID};
use crate::ui;
use crate::{Api, ApiSettings, AppState};

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

/// `/api`: every route needs a signed-in caller (see [`auth::authenticate`]) with the role its
/// gate names; `/api/me` needs no role. Audited routes write AOC's audit trail (see
/// [`audit::middleware`]), refusals included. The Graph webhook is outside: Graph calls it
/// without a token and proves itself with the shared `clientState`.
fn api(state: &Api) -> OpenApiRouter<Api> {
    let reader = OpenApiRouter::default()
        .routes(routes!(events::list))
        .routes(routes!(aggregations::aggregations))
        .routes(routes!(facets::facets))
        .routes(routes!(saved_searches::list, saved_searches::save))
        .routes(routes!(saved_searches::delete))
        .routes(routes!(events::event_detail))
        .routes(routes!(annotations::list_tags))
        .routes(routes!(sources::list))
        .routes(routes!(sources::coverage))
        .routes(routes!(jobs::get_job))
        .route_layer(require(Role::Reader));
    let analyst = OpenApiRouter::default()
        .routes(routes!(export::export))
        .routes(routes!(annotations::add_tag))
        .routes(routes!(annotations::remove_tag))
        .routes(routes!(annotations::add_comment))
        .routes(routes!(ask::ask))
        .routes(routes!(explain::explain))
        .routes(routes!(
            annotations::edit_comment,
            annotations::delete_comment
        ))
        .route_layer(require(Role::Analyst));
    let admin = OpenApiRouter::default()
        .routes(routes!(fetch::fetch_audit_logs))
        .routes(routes!(audit_trail::audit_trail))
        .route_layer(require(Role::Admin));
    OpenApiRouter::default()
        .routes(routes!(me::me))
        .merge(reader)
        .merge(analyst)
        .merge(admin)
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            audit::middleware,
        ))
        // Only the routes above; an unknown /api path stays a 404.
        .route_layer(middleware::from_fn_with_state(
            state.auth.clone(),
            auth::authenticate,
        ))
        .routes(routes!(webhooks::graph))
        // Read by the dashboard before anyone has signed in.
        .routes(routes!(client_config::client_config))
        .layer(axum::Extension(ExpensiveLimiter::new(
            state.settings.expensive_per_minute,
        )))
        .layer(axum::Extension(CompressedPages::default()))
}

/// The HTTP API over the use cases built from `state`.
pub fn router(state: AppState) -> Router {
    let state = Api::from(state);
    let (routes, document) = OpenApiRouter::with_openapi(openapi::base())
        .routes(routes!(health::health))
        .routes(routes!(health::metrics))
        .nest("/api", api(&state))
        .split_for_parts();
    let mut app = routes
        // The document and its UI need no sign-in: they describe the API and hold no data.
        .merge(openapi::routes(&openapi::finish(&document)))
        // The web dashboard, and a problem+json 404 for anything else.
        .fallback(ui::serve)
        // One body limit, the configured one: axum's own default (2 MiB) is switched off.
        .layer(RequestBodyLimitLayer::new(state.settings.max_body_bytes))
        .layer(DefaultBodyLimit::disable())
        .layer(CatchPanicLayer::new())
        // gzip or brotli when the client asks (`Accept-Encoding`): a page of events is
        // repetitive JSON, several times smaller compressed.
        .layer(CompressionLayer::new());
    if let Some(cors) = cors(&state.settings) {
        app = app.layer(cors);
    }
    // Outermost, so every response (errors from the layers above included) gets an id and a log line.
    app.layer(middleware::from_fn(telemetry::middleware))
        .with_state(state)
}
