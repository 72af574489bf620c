//! Analysts' annotations: tags and comments on events.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::{Deserialize, Serialize};

use aoc_model::{CommentBody, CommentId, DEFAULT_TAGS, Event, EventId, Tag};
use aoc_store::{Comment, TagRecord};

use crate::AppState;
use crate::audit::{AuditDetails, author};
use crate::auth::{Principal, Role};
use crate::error::ApiError;
use crate::params::{JsonBody, RawQuery, no_params};

pub(crate) fn event_id(value: &str) -> Result<EventId, ApiError> {
    value
        .parse()
        .map_err(|_| ApiError::invalid("id", "expected an event id (a UUID)"))
}

fn comment_id(value: &str) -> Result<CommentId, ApiError> {
    value
        .parse::<uuid::Uuid>()
        .map(CommentId::from_uuid)
        .map_err(|_| ApiError::invalid("id", "expected a comment id (a UUID)"))
}

pub(crate) async fn stored_event(state: &AppState, id: EventId) -> Result<Event, ApiError> {
    state
        .store
        .get_event(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("event {id}")))
}

/// A tag in use or offered by default.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TagSummary {
    pub tag: String,
    /// Events that carry it.
    pub events: u64,
    /// One of the tags AOC offers from the start.
    pub default: bool,
}

/// `GET /api/tags`: the tags in use, most used first, then the unused defaults.
#[utoipa::path(
    get,
    path = "/tags",
    operation_id = "listTags",
    tag = "Annotations",
    summary = "List tags",
    description = "The tags in use, most used first, with how many events carry each, then the \
        tags AOC offers from the start that nobody has used yet (`investigating`, \
        `false_positive`, `escalated`, `benign`, `confirmed`). Takes no parameters.",
    responses(
        (status = 200, description = "The tags.", body = Vec<TagSummary>),
        (status = 400, response = crate::openapi::responses::BadRequest),
        (status = 500, response = crate::openapi::responses::InternalError),
        (status = 503, response = crate::openapi::responses::Unavailable),
    ),
    security(("entra" = ["AOC.Reader"])),
)]
pub async fn list_tags(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<TagSummary>>, ApiError> {
    no_params(raw.as_deref())?;
    let mut tags: Vec<TagSummary> = state
        .store
        .tag_counts()
        .await?
        .into_iter()
        .map(|c| TagSummary {
            default: DEFAULT_TAGS.contains(&c.tag.as_str()),
            tag: c.tag.as_str().to_owned(),
            events: c.events,
        })
        .collect();
    for default in DEFAULT_TAGS {
        if !tags.iter().any(|t| t.tag == default) {
            tags.push(TagSummary {
                tag: default.to_owned(),
                events: 0,
                default: true,
            });
        }
    }
    Ok(Json(tags))
}

/// The tag to add.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTag {
    #[schema(example = "investigating")]
    pub tag: String,
}

/// `POST /api/events/{id}/tags`: 201 with the event's tags when added, 200 when it was there.
#[utoipa::path(
    post,
    path = "/events/{id}/tags",
    operation_id = "addTag",
    tag = "Annotations",
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
        (status = 400, response = crate::openapi::responses::BadRequest),
        (status = 404, description = "No event with this id (`/problems/not-found`).",
            body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, response = crate::openapi::responses::PayloadTooLarge),
        (status = 500, response = crate::openapi::responses::InternalError),
        (status = 503, response = crate::openapi::responses::Unavailable),
    ),
    security(("entra" = ["AOC.Analyst"])),
)]
pub async fn add_tag(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<NewTag>,
) -> Result<Response, ApiError> {
    let id = event_id(&id)?;
    let tag = Tag::parse(&body.tag).map_err(|e| ApiError::invalid("tag", e.to_string()))?;
    let event = stored_event(&state, id).await?;
    let added = state
        .store
        .add_tag((&event).into(), &tag, &author(&principal), Utc::now())
        .await?;
    let tags = state.store.event_tags(id).await?;
    let status = if added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut response = (status, Json(tags)).into_response();
    response.extensions_mut().insert(
        AuditDetails::default()
            .with("tag", tag.as_str())
            .with("added", added),
    );
    Ok(response)
}

/// `DELETE /api/events/{id}/tags/{tag}`: 204, or 404 when the event does not carry it.
#[utoipa::path(
    delete,
    path = "/events/{id}/tags/{tag}",
    operation_id = "removeTag",
    tag = "Annotations",
    summary = "Remove a tag from an event",
    description = "Removes the tag, whoever added it.",
    params(
        ("id" = String, Path, format = Uuid, description = "The event's id."),
        ("tag" = String, Path, description = "The tag (trimmed and lowercased first)."),
    ),
    responses(
        (status = 204, description = "Removed."),
        (status = 400, response = crate::openapi::responses::BadRequest),
        (status = 404, description = "The event does not carry this tag, or does not exist \
            (`/problems/not-found`).",
            body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 500, response = crate::openapi::responses::InternalError),
        (status = 503, response = crate::openapi::responses::Unavailable),
    ),
    security(("entra" = ["AOC.Analyst"])),
)]
pub async fn remove_tag(
    State(state): State<AppState>,
    Path((id, tag)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = event_id(&id)?;
    let tag = Tag::parse(&tag).map_err(|e| ApiError::invalid("tag", e.to_string()))?;
    if !state.store.remove_tag(id, &tag).await? {
        return Err(ApiError::NotFound(format!("tag {tag} on event {id}")));
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .extensions_mut()
        .insert(AuditDetails::default().with("tag", tag.as_str()));
    Ok(response)
}

/// A comment's text.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentText {
    #[schema(example = "Forwarding to an outside address; asked Lee to confirm.")]
    pub body: String,
}

/// `POST /api/events/{id}/comments`: 201 with the comment.
#[utoipa::path(
    post,
    path = "/events/{id}/comments",
    operation_id = "addComment",
    tag = "Annotations",
    summary = "Comment on an event",
    description = "Adds a comment to the event, on your name: 1 to 10,000 characters once \
        leading and trailing white space is trimmed; kept exactly otherwise (line breaks, \
        Markdown).",
    params(("id" = String, Path, format = Uuid, description = "The event's id.")),
    request_body(content = CommentText, content_type = "application/json"),
    responses(
        (status = 201, description = "The comment.", body = Comment),
        (status = 400, response = crate::openapi::responses::BadRequest),
        (status = 404, description = "No event with this id (`/problems/not-found`).",
            body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, response = crate::openapi::responses::PayloadTooLarge),
        (status = 500, response = crate::openapi::responses::InternalError),
        (status = 503, response = crate::openapi::responses::Unavailable),
    ),
    security(("entra" = ["AOC.Analyst"])),
)]
pub async fn add_comment(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<CommentText>,
) -> Result<Response, ApiError> {
    let id = event_id(&id)?;
    let text =
        CommentBody::parse(&body.body).map_err(|e| ApiError::invalid("body", e.to_string()))?;
    let event = stored_event(&state, id).await?;
    let comment = state
        .store
        .add_comment((&event).into(), &author(&principal), &text, Utc::now())
        .await?;
    let mut response = (StatusCode::CREATED, Json(&comment)).into_response();
    response.extensions_mut().insert(
        AuditDetails::default()
            .with("comment", comment.id.to_string())
            .with("chars", text.as_str().chars().count()),
    );
    Ok(response)
}

/// The comment, when the caller may change it: its author, or an Admin.
async fn own_comment(
    state: &AppState,
    principal: &Principal,
    id: CommentId,
) -> Result<Comment, ApiError> {
    let comment = state
        .store
        .get_comment(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("comment {id}")))?;
    if comment.author.id != principal.object_id && !principal.has(Role::Admin) {
        return Err(ApiError::Forbidden(
            "only the comment's author or an Admin may change it".into(),
        ));
    }
    Ok(comment)
}

/// `PATCH /api/comments/{id}`: the author, or an Admin, rewrites the text.
#[utoipa::path(
    patch,
    path = "/comments/{id}",
    operation_id = "editComment",
    tag = "Annotations",
    summary = "Edit a comment",
    description = "Replaces the comment's text. Only its author, or an Admin, may.",
    params(("id" = String, Path, format = Uuid, description = "The comment's id.")),
    request_body(content = CommentText, content_type = "application/json"),
    responses(
        (status = 200, description = "The comment as it is now.", body = Comment),
        (status = 400, response = crate::openapi::responses::BadRequest),
        (status = 403, description = "Not the comment's author, nor an Admin \
            (`/problems/forbidden`); or a role too low.",
            body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No comment with this id (`/problems/not-found`).",
            body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, response = crate::openapi::responses::PayloadTooLarge),
        (status = 500, response = crate::openapi::responses::InternalError),
        (status = 503, response = crate::openapi::responses::Unavailable),
    ),
    security(("entra" = ["AOC.Analyst"])),
)]
pub async fn edit_comment(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<CommentText>,
) -> Result<Response, ApiError> {
    let id = comment_id(&id)?;
    let text =
        CommentBody::parse(&body.body).map_err(|e| ApiError::invalid("body", e.to_string()))?;
    let before = own_comment(&state, &principal, id).await?;
    let comment = state
        .store
        .update_comment(id, &text, Utc::now())
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("comment {id}")))?;
    let mut response = Json(&comment).into_response();
    response.extensions_mut().insert(
        AuditDetails::default()
            .with("event", before.event_id.to_string())
            .with("author", before.author.id),
    );
    Ok(response)
}

/// `DELETE /api/comments/{id}`: the author, or an Admin, removes it.
#[utoipa::path(
    delete,
    path = "/comments/{id}",
    operation_id = "deleteComment",
    tag = "Annotations",
    summary = "Delete a comment",
    description = "Removes the comment. Only its author, or an Admin, may.",
    params(("id" = String, Path, format = Uuid, description = "The comment's id.")),
    responses(
        (status = 204, description = "Removed."),
        (status = 400, response = crate::openapi::responses::BadRequest),
        (status = 403, description = "Not the comment's author, nor an Admin \
            (`/problems/forbidden`); or a role too low.",
            body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No comment with this id (`/problems/not-found`).",
            body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 500, response = crate::openapi::responses::InternalError),
        (status = 503, response = crate::openapi::responses::Unavailable),
    ),
    security(("entra" = ["AOC.Analyst"])),
)]
pub async fn delete_comment(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = comment_id(&id)?;
    let before = own_comment(&state, &principal, id).await?;
    if !state.store.delete_comment(id).await? {
        return Err(ApiError::NotFound(format!("comment {id}")));
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.extensions_mut().insert(
        AuditDetails::default()
            .with("event", before.event_id.to_string())
            .with("author", before.author.id),
    );
    Ok(response)
}

/// `GET /api/events/{id}`: the event with its raw record, tags and comments.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventDetail {
    #[serde(flatten)]
    pub event: Event,
    pub tags: Vec<TagRecord>,
    pub comments: Vec<Comment>,
}

#[utoipa::path(
    get,
    path = "/events/{id}",
    operation_id = "getEvent",
    tag = "Events",
    summary = "Read one event",
    description = "The event with the record exactly as Microsoft sent it (`raw`), its tags and \
        its comments. Takes no query parameters.",
    params(("id" = String, Path, format = Uuid, description = "The event's id.")),
    responses(
        (status = 200, description = "The event.", body = EventDetail),
        (status = 400, response = crate::openapi::responses::BadRequest),
        (status = 404, description = "No event with this id (`/problems/not-found`).",
            body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 500, response = crate::openapi::responses::InternalError),
        (status = 503, response = crate::openapi::responses::Unavailable),
    ),
    security(("entra" = ["AOC.Reader"])),
)]
pub async fn event_detail(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<EventDetail>, ApiError> {
    no_params(raw.as_deref())?;
    let id = event_id(&id)?;
    let event = stored_event(&state, id).await?;
    let (tags, comments) =
        tokio::try_join!(state.store.event_tags(id), state.store.event_comments(id))?;
    Ok(Json(EventDetail {
        event,
        tags,
        comments,
    }))
}
