//! `GET /api/events` and `GET /api/events/{id}`.

use axum::extract::Path;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::{Extension, Json};

use aoc_model::EventPage;
use aoc_services::Params;
use aoc_services::events::{EventDetail, event_id};
use aoc_services::filters::{LIST_PARAMS, search_query, with_filters};
use aoc_services::params::no_params;

use crate::auth::UseCases;
use crate::compressed::CompressedPages;
use crate::error::ApiError;
use crate::openapi::responses::Failures;
use crate::params::RawQuery;

#[utoipa::path(get, path = "/events", operation_id = "listEvents", tag = "Events",
    summary = "Search audit events",
    description = "One page of the audit events that match the filters, newest first, and the \
        cursor of the next page. Follow `next_cursor` with the same filters to read on: every \
        matching event comes exactly once, even while new events arrive; it is `null` on the \
        last page. An unknown or repeated parameter, or a value that does not parse, is a 400 \
        naming it.",
    params(crate::openapi::params::EventFilters, crate::openapi::params::EventPaging),
    responses((status = 200, description = "A page of events.", body = EventPage), Failures),
    security(("entra" = ["AOC.Reader"])),
)]
pub async fn list(
    UseCases { services, caller }: UseCases,
    Extension(compressed): Extension<CompressedPages>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let query = search_query(&Params::parse(raw.as_deref(), &with_filters(&LIST_PARAMS))?)?;
    let page = services.search_events(&caller, &query).await?;
    Ok(compressed.respond(&headers, page))
}

#[utoipa::path(get, path = "/events/{id}", operation_id = "getEvent", tag = "Events",
    summary = "Read one event",
    description = "The event with the record exactly as Microsoft sent it (`raw`), its tags and \
        its comments. Takes no query parameters.",
    params(("id" = String, Path, format = Uuid, description = "The event's id.")),
    responses(
        (status = 200, description = "The event.", body = aoc_services::events::EventDetail),
        (status = 404, description = "No event with this id (`/problems/not-found`).",
            body = crate::error::Problem, content_type = "application/problem+json"),
        Failures,
    ),
    security(("entra" = ["AOC.Reader"])),
)]
pub async fn event_detail(
    UseCases { services, caller }: UseCases,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<EventDetail>, ApiError> {
    no_params(raw.as_deref())?;
    let id = event_id(&id)?;
    Ok(Json(services.get_event(&caller, id).await?))
}
