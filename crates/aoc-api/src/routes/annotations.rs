//! Analysts' annotations: tags and comments on events.

use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use aoc_services::AuditDetails;
use aoc_services::events::{TagSummary, comment_id, event_id};
use aoc_services::params::no_params;
use aoc_store::{Comment, TagRecord};

use crate::audit::with_details;
use crate::auth::UseCases;
use crate::error::ApiError;
use crate::openapi::responses::Failures;
use crate::params::{JsonBody, RawQuery};

/// `GET /api/tags`: the tags in use, most used first, then the unused defaults.
#[utoipa::path(get, path = "/tags", operation_id = "listTags", tag = "Annotations",
    summary = "List tags",
    description = "The tags in use, most used first, with how many events carry each, then the \
        tags AOC offers from the start that nobody has used yet (`investigating`, \
        `false_positive`, `escalated`, `benign`, `confirmed`). Takes no parameters.",
    responses((status = 200, description = "The tags.", body = Vec<TagSummary>), Failures),
    security(("entra" = ["AOC.Reader"])),
)]
pub async fn list_tags(
    UseCases { services, caller }: UseCases,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<TagSummary>>, ApiError> {
    no_params(raw.as_deref())?;
    Ok(Json(services.list_tags(&caller).await?))
}

/// The tag to add.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTag {
    #[schema(example = "investigating")]
    pub tag: String,
}

/// `POST /api/events/{id}/tags`: 201 with the event's tags when added, 200 when it was there.
#[utoipa::path(post, path = "/events/{id}/tags", operation_id = "addTag", tag = "Annotations",
    summary = "Tag an event",
    description = "Adds a tag to the event, on your name. A tag is 1 to 48 of a-z, 0-9, `_`, \
        `-`, `.` and `:`; what you send is trimmed and lowercased first. Adding a tag the event \
        already carries changes nothing.",
    params(("id" = String, Path, format = Uuid, description = "The event's id.")),
    request_body(content = NewTag, content_type = "application/json"),
    responses(
        (status = 201, description = "Added; the event's tags.", body = Vec<TagRecord>),
        (status = 200, description = "The event already carried it; its tags.",
            body = Vec<TagRecord>),
        (status = 404, description = "No event with this id (`/problems/not-found`).",
            body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, response = crate::openapi::responses::PayloadTooLarge),
        Failures,
    ),
    security(("entra" = ["AOC.Analyst"])),
)]
pub async fn add_tag(
    UseCases { services, caller }: UseCases,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<NewTag>,
) -> Result<Response, ApiError> {
    let id = event_id(&id)?;
    let added = services.add_tag(&caller, id, &body.tag).await?;
    let status = if added.added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let details = AuditDetails::default()
        .with("tag", added.tag.as_str())
        .with("added", added.added);
    Ok(with_details((status, Json(added.tags)), details))
}

/// `DELETE /api/events/{id}/tags/{tag}`: 204, or 404 when the event does not carry it.
#[utoipa::path(delete, path = "/events/{id}/tags/{tag}", operation_id = "removeTag",
    tag = "Annotations",
    summary = "Remove a tag from an event",
    description = "Removes the tag, whoever added it.",
    params(
        ("id" = String, Path, format = Uuid, description = "The event's id."),
        ("tag" = String, Path, description = "The tag (trimmed and lowercased first)."),
    ),
    responses(
        (status = 204, description = "Removed."),
        (status = 404, description = "The event does not carry this tag, or does not exist \
            (`/problems/not-found`).",
            body = crate::error::Problem, content_type = "application/problem+json"),
        Failures,
    ),
    security(("entra" = ["AOC.Analyst"])),
)]
pub async fn remove_tag(
    UseCases { services, caller }: UseCases,
    Path((id, tag)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = event_id(&id)?;
    let tag = services.remove_tag(&caller, id, &tag).await?;
    let details = AuditDetails::default().with("tag", tag.as_str());
    Ok(with_details(StatusCode::NO_CONTENT, details))
}

/// A comment's text.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentText {
    #[schema(example = "Forwarding to an outside address; asked Lee to confirm.")]
    pub body: String,
}

/// `POST /api/events/{id}/comments`: 201 with the comment.
#[utoipa::path(post, path = "/events/{id}/comments", operation_id = "addComment",
    tag = "Annotations",
    summary = "Comment on an event",
    description = "Adds a comment to the event, on your name: 1 to 10,000 characters once \
        leading and trailing white space is trimmed; kept exactly otherwise (line breaks, \
        Markdown).",
    params(("id" = String, Path, format = Uuid, description = "The event's id.")),
    request_body(content = CommentText, content_type = "application/json"),
    responses(
        (status = 201, description = "The comment.", body = Comment),
        (status = 404, description = "No event with this id (`/problems/not-found`).",
            body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, response = crate::openapi::responses::PayloadTooLarge),
        Failures,
    ),
    security(("entra" = ["AOC.Analyst"])),
)]
pub async fn add_comment(
    UseCases { services, caller }: UseCases,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<CommentText>,
) -> Result<Response, ApiError> {
    let id = event_id(&id)?;
    let comment = services.add_comment(&caller, id, &body.body).await?;
    let details = AuditDetails::default()
        .with("comment", comment.id.to_string())
        .with("chars", comment.body.chars().count());
    Ok(with_details((StatusCode::CREATED, Json(&comment)), details))
}

/// Who wrote the comment that was changed, for the audit trail.
fn changed(before: &Comment) -> AuditDetails {
    AuditDetails::default()
        .with("event", before.event_id.to_string())
        .with("author", before.author.id.clone())
}

/// `PATCH /api/comments/{id}`: the author, or an Admin, rewrites the text.
#[utoipa::path(patch, path = "/comments/{id}", operation_id = "editComment", tag = "Annotations",
    summary = "Edit a comment",
    description = "Replaces the comment's text. Only its author, or an Admin, may.",
    params(("id" = String, Path, format = Uuid, description = "The comment's id.")),
    request_body(content = CommentText, content_type = "application/json"),
    responses(
        (status = 200, description = "The comment as it is now.", body = Comment),
        (status = 403, description = "Not the comment's author, nor an Admin \
            (`/problems/forbidden`); or a role too low.",
            body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No comment with this id (`/problems/not-found`).",
            body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, response = crate::openapi::responses::PayloadTooLarge),
        Failures,
    ),
    security(("entra" = ["AOC.Analyst"])),
)]
pub async fn edit_comment(
    UseCases { services, caller }: UseCases,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<CommentText>,
) -> Result<Response, ApiError> {
    let id = comment_id(&id)?;
    let (before, after) = services.edit_comment(&caller, id, &body.body).await?;
    Ok(with_details(Json(&after), changed(&before)))
}

/// `DELETE /api/comments/{id}`: the author, or an Admin, removes it.
#[utoipa::path(delete, path = "/comments/{id}", operation_id = "deleteComment", tag = "Annotations",
    summary = "Delete a comment",
    description = "Removes the comment. Only its author, or an Admin, may.",
    params(("id" = String, Path, format = Uuid, description = "The comment's id.")),
    responses(
        (status = 204, description = "Removed."),
        (status = 403, description = "Not the comment's author, nor an Admin \
            (`/problems/forbidden`); or a role too low.",
            body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No comment with this id (`/problems/not-found`).",
            body = crate::error::Problem, content_type = "application/problem+json"),
        Failures,
    ),
    security(("entra" = ["AOC.Analyst"])),
)]
pub async fn delete_comment(
    UseCases { services, caller }: UseCases,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = comment_id(&id)?;
    let before = services.delete_comment(&caller, id).await?;
    Ok(with_details(StatusCode::NO_CONTENT, changed(&before)))
}
