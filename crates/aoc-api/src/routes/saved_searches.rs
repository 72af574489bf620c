//! Saved searches: `GET`/`POST /api/saved-searches`, `DELETE /api/saved-searches/{id}`.

use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use aoc_services::AuditDetails;
use aoc_services::params::no_params;
use aoc_services::saved_searches::saved_search_id;
use aoc_store::SavedSearch;

use crate::audit::with_details;
use crate::auth::UseCases;
use crate::error::ApiError;
use crate::openapi::responses::Failures;
use crate::params::{JsonBody, RawQuery};

/// A search to save.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSearch {
    /// 1 – 100 characters.
    #[schema(example = "Ravi's sign-ins today", min_length = 1, max_length = 100)]
    pub name: String,
    /// The dashboard's query string: the events filters (`actor=ravi&not_result=success`) and
    /// its `range` (`15m`, `today`, `yesterday`), `page_size` and `event`. A range in `hours` or
    /// `range` stays relative; `from` and `to` are fixed.
    #[schema(example = "range=today&actor=ravi", max_length = 2000)]
    pub query: String,
    /// Offered to every reader (needs the Analyst role); personal when false.
    #[serde(default)]
    pub shared: bool,
}

#[utoipa::path(get, path = "/saved-searches", operation_id = "listSavedSearches", tag = "Events",
    summary = "List saved searches",
    description = "Your saved searches and every shared one, newest first. Takes no parameters.",
    responses((status = 200, description = "The saved searches.", body = Vec<SavedSearch>), Failures),
    security(("entra" = ["AOC.Reader"])),
)]
pub async fn list(
    UseCases { services, caller }: UseCases,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<SavedSearch>>, ApiError> {
    no_params(raw.as_deref())?;
    Ok(Json(services.saved_searches(&caller).await?))
}

#[utoipa::path(post, path = "/saved-searches", operation_id = "saveSearch", tag = "Events",
    summary = "Save a search",
    description = "Saves a search on your name, checked like the search it runs (a filter that \
        does not parse is a 400 naming `query`). Personal unless `shared`, which needs the \
        Analyst role.",
    request_body(content = NewSearch, content_type = "application/json"),
    responses(
        (status = 201, description = "Saved.", body = SavedSearch),
        (status = 413, response = crate::openapi::responses::PayloadTooLarge),
        Failures,
    ),
    security(("entra" = ["AOC.Reader"])),
)]
pub async fn save(
    UseCases { services, caller }: UseCases,
    JsonBody(body): JsonBody<NewSearch>,
) -> Result<Response, ApiError> {
    let saved = services
        .save_search(&caller, &body.name, &body.query, body.shared)
        .await?;
    let details = AuditDetails::default()
        .with("name", saved.name.clone())
        .with("shared", saved.shared);
    Ok(with_details((StatusCode::CREATED, Json(saved)), details))
}

#[utoipa::path(delete, path = "/saved-searches/{id}", operation_id = "deleteSavedSearch", tag = "Events",
    summary = "Delete a saved search",
    description = "Its owner may, and so may an Admin.",
    params(("id" = String, Path, format = Uuid, description = "The saved search's id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "No saved search with this id that you can see \
            (`/problems/not-found`).", body = crate::error::Problem,
            content_type = "application/problem+json"),
        Failures,
    ),
    security(("entra" = ["AOC.Reader"])),
)]
pub async fn delete(
    UseCases { services, caller }: UseCases,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = saved_search_id(&id)?;
    services.delete_saved_search(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
