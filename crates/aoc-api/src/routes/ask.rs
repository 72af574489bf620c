//! `POST /api/ask`: a question in plain words, answered from the store.
//!
//! The question becomes the events API's own filter parameters — read by the model when one is
//! configured, by the deterministic parser otherwise or when the model fails — and those are
//! checked exactly like a person's search. Every figure comes from the store; the model only
//! words the answer over a sample of the matching events, and only ids from that sample may be
//! cited. Answers are cached per question, data scope, role and model, and looked up before
//! anything else, so a repeated question costs no model call.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::{Deserialize, Serialize};

use aoc_ai::answer::{Figures, answer_request, citations, is_after_hours, template_answer};
use aoc_ai::cache::CacheKey;
use aoc_ai::intent::{intent_from_reply, intent_request};
use aoc_ai::{Aggregation, Assistant, Intent, parse_question};
use aoc_model::{AggregateSpec, Cursor, Event, EventQuery, PageSize};
use aoc_store::{JobId, JobStatus, NewJob, Store};

use crate::AppState;
use crate::audit::AuditDetails;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::params::{JsonBody, Params};
use crate::ratelimit::Expensive;
use crate::routes::events::{FILTER_PARAMS, filters};

/// The longest question accepted, in characters.
const MAX_QUESTION_CHARS: usize = 500;
/// Events read to choose the sample from (the newest matching ones).
const SAMPLE_POOL: u32 = 1_000;

/// A question.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AskRequest {
    /// The question, in plain words (at most 500 characters).
    #[schema(example = "How many failed sign-ins in the last 24 hours, and from which IPs?")]
    question: String,
    /// Answer in the background: the reply is at once a `202` with a `job_id` to poll at
    /// `GET /api/jobs/{job_id}`.
    #[serde(default, rename = "async")]
    #[schema(rename = "async", default = false)]
    run_async: bool,
}

/// An answer, with everything it rests on.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AskAnswer {
    question: String,
    /// The answer in plain words; cited events appear as `[id]`.
    answer: String,
    /// Who read the question into a query: `model` or `parser`.
    #[schema(example = "parser")]
    read_by: String,
    /// Who worded the answer: `model`, or `summary` (AOC's plain summary of the figures).
    #[schema(example = "summary")]
    written_by: String,
    /// The query the question became: `GET /api/events` parameters, e.g. `{"hours": "24",
    /// "operation": "UserLoginFailed"}`.
    query: BTreeMap<String, String>,
    /// What was computed: `list`, `count`, `top_actors`, `top_operations`, `top_ips` or
    /// `timeline`.
    #[schema(value_type = String, example = "count")]
    aggregation: Aggregation,
    /// Whether only events outside working hours (before 08:00, from 18:00, weekends; UTC)
    /// were asked about.
    after_hours: bool,
    /// The store's figures.
    figures: Figures,
    /// The events the answer cites, each one of the matching events.
    cited: Vec<String>,
    /// How many matching events the answer was written from.
    sample_size: usize,
    /// Whether this answer was served from the cache.
    cached: bool,
    /// What did not go to plan: a model that failed and was fallen back from, cited ids that
    /// were dropped, a count over part of the events.
    notes: Vec<String>,
}

#[utoipa::path(
    post,
    path = "/ask",
    operation_id = "ask",
    tag = "Ask",
    summary = "Ask a question about the audit logs",
    description = "Reads the question into an events query (the model's reading, checked like \
        a person's search, or AOC's own parser for the common questions), computes the figures \
        from the store, and answers in plain words citing matching events. Only when the AI \
        features are on (`AI_FEATURES_ENABLED`); otherwise 404. Answers are cached \
        (`ASK_CACHE_SECONDS`). Rate-limited per caller.",
    request_body = AskRequest,
    responses(
        (status = 200, description = "The answer.", body = AskAnswer),
        (status = 202, description = "With `\"async\": true`: the question is queued as a \
            job; poll `GET /api/jobs/{job_id}` (also in `Location`).", body = JobAccepted),
        (status = 400, response = crate::openapi::responses::BadRequest),
        (status = 404, description = "The AI features are off on this server \
            (`/problems/not-found`).",
            body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, response = crate::openapi::responses::TooManyRequests),
        (status = 500, response = crate::openapi::responses::InternalError),
        (status = 503, response = crate::openapi::responses::Unavailable),
    ),
    security(("entra" = ["AOC.Analyst"])),
)]
pub async fn ask(
    State(state): State<AppState>,
    principal: Principal,
    _budget: Expensive,
    JsonBody(request): JsonBody<AskRequest>,
) -> Result<Response, ApiError> {
    let ai = assistant(&state)?;
    let question = valid_question(&request.question)?;
    let asker = Asker::of(&principal);
    if request.run_async {
        return enqueue(&state, asker, question).await;
    }
    let answer = answer(state.store.as_ref(), &ai, &asker, question).await?;
    Ok(with_audit(answer))
}

/// Who asks, as far as an answer depends on it: whose model budget pays, and the role that
/// shapes the cache scope. A job carries it, so a worker answers exactly as the route would.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Asker {
    /// The caller's tenant and object id: the budget's key and a job's owner.
    pub caller: String,
    /// The caller's highest role.
    pub role: String,
}

impl Asker {
    pub(crate) fn of(principal: &Principal) -> Self {
        Self {
            caller: caller(principal),
            role: principal
                .effective_roles()
                .last()
                .map_or("none", |r| r.as_str())
                .to_owned(),
        }
    }
}

/// What an `ask` job carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AskJob {
    pub question: String,
    pub asker: Asker,
}

/// The kind of the jobs that answer a question.
pub(crate) const ASK_JOB: &str = "ask";

/// A question as asked, trimmed, or why it cannot be.
fn valid_question(raw: &str) -> Result<String, ApiError> {
    let question = raw.trim().to_owned();
    if question.is_empty() || question.chars().count() > MAX_QUESTION_CHARS {
        return Err(ApiError::invalid(
            "question",
            format!("expected 1 to {MAX_QUESTION_CHARS} characters"),
        ));
    }
    if question.chars().any(char::is_control) {
        return Err(ApiError::invalid("question", "contains control characters"));
    }
    Ok(question)
}

/// Async mode: the question becomes a job; 202 with its id and where to poll it.
async fn enqueue(state: &AppState, asker: Asker, question: String) -> Result<Response, ApiError> {
    let question_chars = question.chars().count();
    let job = NewJob {
        id: JobId::new(),
        kind: ASK_JOB.to_owned(),
        owner: asker.caller.clone(),
        payload: serde_json::to_value(AskJob { question, asker })
            .map_err(|e| ApiError::Internal(e.to_string()))?,
        max_attempts: state.settings.job_max_attempts,
        keep: state.settings.job_keep,
    };
    state
        .jobs
        .enqueue_job(&job)
        .await
        .map_err(|e| ApiError::from_queue(state.jobs.as_ref(), e))?;
    metrics::counter!("aoc_jobs_enqueued_total", "kind" => ASK_JOB).increment(1);
    let status_url = format!("/api/jobs/{}", job.id);
    let details = AuditDetails::default()
        .with("question_chars", question_chars)
        .with("async", true)
        .with("job_id", job.id.to_string());
    let mut response = (
        StatusCode::ACCEPTED,
        [(header::LOCATION, status_url.clone())],
        Json(JobAccepted {
            job_id: job.id.to_string(),
            status: JobStatus::Queued,
            status_url,
        }),
    )
        .into_response();
    response.extensions_mut().insert(details);
    Ok(response)
}

/// A question taken as a job.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobAccepted {
    /// Poll `GET /api/jobs/{job_id}` for its status and, once done, the answer.
    #[schema(example = "019ac4d2-7d7e-7c1a-9f7e-3c2b8e0d4a11")]
    job_id: String,
    #[schema(value_type = String, example = "queued")]
    status: JobStatus,
    #[schema(example = "/api/jobs/019ac4d2-7d7e-7c1a-9f7e-3c2b8e0d4a11")]
    status_url: String,
}

/// Answers `question` for `asker`: the route's synchronous answer and an `ask` job's result.
pub(crate) async fn answer(
    store: &dyn Store,
    ai: &Assistant,
    asker: &Asker,
    question: String,
) -> Result<AskAnswer, ApiError> {
    // Looked up before the question is read, so a repeated question costs no model call.
    let key = cache_key("ask", question.clone(), asker, ai);
    if let Some(hit) = ai.cache.get(&key).await
        && let Ok(mut answer) = serde_json::from_str::<AskAnswer>(&hit)
    {
        answer.cached = true;
        return Ok(answer);
    }
    let mut notes = Vec::new();
    let (intent, read_by, query) = read_question(ai, &asker.caller, &question, &mut notes).await?;

    let aggregates = store
        .aggregate_events(
            &query,
            &AggregateSpec {
                interval_seconds: None,
                top: 10,
            },
        )
        .await?;
    let pool = newest_events(store, &query, SAMPLE_POOL).await?;
    let after_hours = if intent.after_hours {
        Some(count_after_hours(store, &query, ai, &mut notes).await?)
    } else {
        None
    };
    let figures = Figures::from_aggregates(&aggregates, &intent, after_hours);
    let pool: Vec<Event> = if intent.after_hours {
        pool.into_iter().filter(is_after_hours).collect()
    } else {
        pool
    };
    let sample = aoc_ai::sample::sample(&pool, ai.sample_tokens, ai.sample_max);

    let (text, written_by) = match &ai.llm {
        Some(_) => match call_model(
            ai,
            &asker.caller,
            &answer_request(&question, &intent, &figures, &sample),
        )
        .await
        {
            Ok(reply) => (reply.text, "model"),
            Err(e) => {
                tracing::warn!(error = %e, "the model could not write the answer; answering with the summary");
                notes.push(format!("The model could not write the answer ({e}); this is AOC's summary of the figures."));
                (template_answer(&intent, &figures, &sample), "summary")
            }
        },
        None => (template_answer(&intent, &figures, &sample), "summary"),
    };
    let (cited, unknown) = citations(&text, &sample);
    if unknown > 0 {
        notes.push(format!(
            "{unknown} cited id(s) were not among the events the answer was written from and are not listed."
        ));
    }
    let answer = AskAnswer {
        question,
        answer: text,
        read_by: read_by.to_owned(),
        written_by: written_by.to_owned(),
        query: intent.filters.clone(),
        aggregation: intent.aggregation,
        after_hours: intent.after_hours,
        figures,
        cited: cited.iter().map(ToString::to_string).collect(),
        sample_size: sample.len(),
        cached: false,
        notes,
    };
    if let Ok(json) = serde_json::to_string(&answer) {
        ai.cache.put(&key, &json, ai.ask_ttl).await;
    }
    Ok(answer)
}

/// The AI features, or the 404 that says they are off.
pub(crate) fn assistant(state: &AppState) -> Result<Arc<Assistant>, ApiError> {
    state.ai.clone().ok_or(ApiError::Disabled(
        "the AI features are off on this server (AI_FEATURES_ENABLED)",
    ))
}

/// The cache key of an answer about `subject` for this caller. The data scope is what the
/// caller may see: every tenant of this server (there are no per-tenant permissions yet), and
/// their role.
pub(crate) fn cache_key(
    kind: &'static str,
    subject: String,
    asker: &Asker,
    ai: &Assistant,
) -> CacheKey {
    CacheKey {
        kind,
        subject,
        scope: "tenants=all".to_owned(),
        role: asker.role.clone(),
        model: ai.model_label(),
    }
}

/// Who pays for a model call: the caller's tenant and object id.
pub(crate) fn caller(principal: &Principal) -> String {
    format!("{}/{}", principal.tenant_id, principal.object_id)
}

/// One model call for `caller`, within their daily token budget: the reply, or why there is
/// none (no model, the budget used up, the model failed). Its cost goes to the budget and to
/// `aoc_llm_tokens_total`.
pub(crate) async fn call_model(
    ai: &Assistant,
    caller: &str,
    request: &aoc_ai::ChatRequest,
) -> Result<aoc_ai::ChatReply, String> {
    let Some(llm) = &ai.llm else {
        return Err("no model is configured".to_owned());
    };
    let today = Utc::now().date_naive();
    if !ai.budget.allows_now(caller, today).await {
        metrics::counter!("aoc_llm_budget_refusals_total").increment(1);
        return Err(format!(
            "your daily model budget of {} tokens is used up",
            ai.budget.per_day()
        ));
    }
    let reply = llm.complete(request).await.map_err(|e| e.to_string())?;
    ai.budget
        .spend_now(caller, today, reply.input_tokens + reply.output_tokens)
        .await;
    metrics::counter!("aoc_llm_tokens_total", "kind" => "input").increment(reply.input_tokens);
    metrics::counter!("aoc_llm_tokens_total", "kind" => "output").increment(reply.output_tokens);
    Ok(reply)
}

fn with_audit(answer: AskAnswer) -> Response {
    let details = AuditDetails::default()
        .with("question_chars", answer.question.chars().count())
        .with("read_by", answer.read_by.clone())
        .with("cached", answer.cached)
        .with("cited", answer.cited.len());
    let mut response = Json(answer).into_response();
    response.extensions_mut().insert(details);
    response
}

/// The intent's parameters, checked exactly like a person's search.
fn checked(intent: &Intent) -> Result<EventQuery, ApiError> {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (name, value) in &intent.filters {
        serializer.append_pair(name, value);
    }
    let qs = serializer.finish();
    let params = Params::parse(Some(&qs), &FILTER_PARAMS)?;
    filters(&params)
}

/// Reads the question: the model's reading when there is a model and it gives a valid query,
/// else the parser's.
async fn read_question(
    ai: &Assistant,
    caller: &str,
    question: &str,
    notes: &mut Vec<String>,
) -> Result<(Intent, &'static str, EventQuery), ApiError> {
    let now = Utc::now();
    if ai.llm.is_some() {
        let reading = match call_model(ai, caller, &intent_request(question, now)).await {
            Ok(reply) => intent_from_reply(&reply.text).map_err(|e| e.to_string()),
            Err(why) => Err(why),
        };
        match reading.and_then(|intent| {
            checked(&intent)
                .map(|query| (intent, query))
                .map_err(|e| e.to_string())
        }) {
            Ok((intent, query)) => return Ok((intent, "model", query)),
            Err(why) => {
                tracing::warn!(reason = %why, "the model's reading of a question was not usable; using the parser");
                notes.push(format!(
                    "The model's reading of the question was not usable ({why}); AOC's parser read it."
                ));
            }
        }
    }
    let intent = parse_question(question, now);
    let query = checked(&intent)?;
    Ok((intent, "parser", query))
}

/// The newest `limit` matching events, without their raw records.
async fn newest_events(
    store: &dyn Store,
    query: &EventQuery,
    limit: u32,
) -> Result<Vec<Event>, ApiError> {
    let query = EventQuery {
        page_size: PageSize::bulk(limit),
        without_raw: true,
        cursor: None,
        ..query.clone()
    };
    Ok(store.query_events(&query).await?.items)
}

/// Matching events outside working hours, counted over at most `after_hours_scan` of them.
async fn count_after_hours(
    store: &dyn Store,
    query: &EventQuery,
    ai: &Assistant,
    notes: &mut Vec<String>,
) -> Result<u64, ApiError> {
    let mut page_query = EventQuery {
        page_size: PageSize::bulk(2_000),
        without_raw: true,
        cursor: None,
        ..query.clone()
    };
    let (mut seen, mut count) = (0_usize, 0_u64);
    loop {
        let page = store.query_events(&page_query).await?;
        seen += page.items.len();
        count += page.items.iter().filter(|e| is_after_hours(e)).count() as u64;
        match page.next_cursor.as_deref().map(Cursor::decode) {
            Some(Ok(cursor)) if seen < ai.after_hours_scan => page_query.cursor = Some(cursor),
            Some(_) => {
                notes.push(format!(
                    "Events outside working hours were counted over the newest {seen} matching events only."
                ));
                return Ok(count);
            }
            None => return Ok(count),
        }
    }
}
