//! `GET /api/events/aggregations`: dashboard figures over the events filters.

use axum::Json;

use aoc_model::EventAggregates;
use aoc_services::Params;
use aoc_services::filters::{AGGREGATION_PARAMS, aggregate_spec, event_filters, with_filters};

use crate::auth::UseCases;
use crate::error::ApiError;
use crate::openapi::responses::LimitedFailures;
use crate::params::RawQuery;
use crate::ratelimit::Expensive;

#[utoipa::path(get, path = "/events/aggregations", operation_id = "aggregateEvents", tag = "Events",
    summary = "Count events for a dashboard",
    description = "Figures over the events that match the filters (the same filters as the \
        search): how many, how many failed, a timeline of counts per interval, and the most \
        frequent operations, actors and client addresses.",
    params(crate::openapi::params::EventFilters, crate::openapi::params::AggregationOptions),
    responses(
        (status = 200, description = "The figures.", body = EventAggregates),
        LimitedFailures,
    ),
    security(("entra" = ["AOC.Reader"])),
)]
pub async fn aggregations(
    UseCases { services, caller }: UseCases,
    _budget: Expensive,
    RawQuery(raw): RawQuery,
) -> Result<Json<EventAggregates>, ApiError> {
    let p = Params::parse(raw.as_deref(), &with_filters(&AGGREGATION_PARAMS))?;
    let (query, spec) = (event_filters(&p)?, aggregate_spec(&p)?);
    Ok(Json(
        services.aggregate_events(&caller, &query, &spec).await?,
    ))
}
