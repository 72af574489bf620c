//! `GET /api/events/facets`: the most frequent values of each field beside the results.

use axum::Json;

use aoc_services::Params;
use aoc_services::events::EventFacets;
use aoc_services::filters::{FACET_PARAMS, event_filters, facet_spec, with_filters};

use crate::auth::UseCases;
use crate::error::ApiError;
use crate::openapi::responses::LimitedFailures;
use crate::params::RawQuery;
use crate::ratelimit::Expensive;

#[utoipa::path(get, path = "/events/facets", operation_id = "eventFacets", tag = "Events",
    summary = "Break the events down by field",
    description = "The most frequent values of each field asked for (operation, actor, service, \
        result, country, source, ip) among the events that match the filters (the same filters \
        as the search), with counts. Each facet's name is the filter its values go to: a value \
        in double quotes includes exactly it, and `not_<name>` leaves it out. An event seen via \
        two sources counts under both.",
    params(crate::openapi::params::EventFilters, crate::openapi::params::FacetOptions),
    responses(
        (status = 200, description = "The values with counts, most frequent first.", body = EventFacets),
        LimitedFailures,
    ),
    security(("entra" = ["AOC.Reader"])),
)]
pub async fn facets(
    UseCases { services, caller }: UseCases,
    _budget: Expensive,
    RawQuery(raw): RawQuery,
) -> Result<Json<EventFacets>, ApiError> {
    let p = Params::parse(raw.as_deref(), &with_filters(&FACET_PARAMS))?;
    let query = event_filters(&p)?;
    let (fields, top) = facet_spec(&p)?;
    Ok(Json(services.facets(&caller, &query, &fields, top).await?))
}
