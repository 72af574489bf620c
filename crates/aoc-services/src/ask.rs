//! Asking a question in plain words, answered from the store — now, or as a background job.
//!
//! The question becomes the events filters — read by the model when one is configured, by the
//! deterministic parser otherwise or when the model fails — and those are checked exactly like
//! a person's search ([`crate::filters`]). Every figure comes from the store; the model only
//! words the answer over a sample of the matching events, and only ids from that sample may be
//! cited. Answers are cached per question, data scope, role and model, and looked up before
//! anything else, so a repeated question costs no model call.

mod reading;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use aoc_ai::answer::{Figures, answer_request, citations, is_after_hours, template_answer};
use aoc_ai::{Aggregation, Assistant};
use aoc_model::{AggregateSpec, Event};
use aoc_store::{JobId, JobStatus, NewJob, Store};

use crate::caller::{Caller, Role};
use crate::error::{ServiceError, ServiceResult};
use crate::model_calls::{Asker, cache_key, call_model};
use crate::{Services, telemetry};

/// The longest question accepted, in characters.
const MAX_QUESTION_CHARS: usize = 500;
/// Events read to choose the sample from (the newest matching ones).
const SAMPLE_POOL: u32 = 1_000;
/// The kind of the jobs that answer a question.
pub const ASK_JOB: &str = "ask";

/// An answer, with everything it rests on.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AskAnswer {
    pub question: String,
    /// The answer in plain words; cited events appear as `[id]`.
    pub answer: String,
    /// Who read the question into a query: `model` or `parser`.
    #[cfg_attr(feature = "openapi", schema(example = "parser"))]
    pub read_by: String,
    /// Who worded the answer: `model`, or `summary` (AOC's plain summary of the figures).
    #[cfg_attr(feature = "openapi", schema(example = "summary"))]
    pub written_by: String,
    /// The query the question became: `GET /api/events` parameters, e.g. `{"hours": "24",
    /// "operation": "UserLoginFailed"}`.
    pub query: BTreeMap<String, String>,
    /// What was computed: `list`, `count`, `top_actors`, `top_operations`, `top_ips` or
    /// `timeline`.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "count"))]
    pub aggregation: Aggregation,
    /// Whether only events outside working hours (before 08:00, from 18:00, weekends; UTC)
    /// were asked about.
    pub after_hours: bool,
    /// The store's figures.
    pub figures: Figures,
    /// The events the answer cites, each one of the matching events.
    pub cited: Vec<String>,
    /// How many matching events the answer was written from.
    pub sample_size: usize,
    /// Whether this answer was served from the cache.
    pub cached: bool,
    /// What did not go to plan: a model that failed and was fallen back from, cited ids that
    /// were dropped, a count over part of the events.
    pub notes: Vec<String>,
    /// What the question was read as, in plain words ("who: accounts matching “ravi.moss”",
    /// "time: from 2026-11-26T00:00:00Z", "show: how many").
    #[serde(default)]
    pub understood: Vec<String>,
    /// Words of the question nothing read: the answer does not take them into account.
    #[serde(default)]
    pub ignored: Vec<String>,
    /// The question was declined: it is not about the tenant's audit events.
    #[serde(default)]
    pub declined: bool,
}

/// Where the asker is: "today" and "yesterday" are their days.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AskerClock {
    /// Minutes east of UTC (`60` for UTC+01:00), as the dashboard's browser reports it.
    pub utc_offset_minutes: i32,
}

impl AskerClock {
    /// The largest offset of a time zone, in minutes (UTC+14:00).
    pub const MAX_OFFSET: i32 = 14 * 60;

    /// # Errors
    /// An offset no time zone has, named `utc_offset_minutes`.
    pub fn new(utc_offset_minutes: Option<i32>) -> ServiceResult<Self> {
        match utc_offset_minutes {
            None => Ok(Self::default()),
            Some(m) if (-Self::MAX_OFFSET..=Self::MAX_OFFSET).contains(&m) => Ok(Self {
                utc_offset_minutes: m,
            }),
            Some(_) => Err(ServiceError::invalid(
                "utc_offset_minutes",
                "expected minutes east of UTC, from -840 to 840",
            )),
        }
    }
}

/// What an `ask` job carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AskJob {
    pub question: String,
    pub asker: Asker,
    #[serde(default)]
    pub clock: AskerClock,
}

/// A question taken as a background job.
#[derive(Debug, Clone)]
pub struct QueuedQuestion {
    pub job_id: JobId,
    pub status: JobStatus,
    pub question_chars: usize,
}

/// A question as asked, trimmed, or why it cannot be.
fn valid_question(raw: &str) -> ServiceResult<String> {
    let question = raw.trim().to_owned();
    if question.is_empty() || question.chars().count() > MAX_QUESTION_CHARS {
        return Err(ServiceError::invalid(
            "question",
            format!("expected 1 to {MAX_QUESTION_CHARS} characters"),
        ));
    }
    if question.chars().any(char::is_control) {
        return Err(ServiceError::invalid(
            "question",
            "contains control characters",
        ));
    }
    Ok(question)
}

impl Services {
    /// Answers `question` now.
    ///
    /// # Errors
    /// A caller without the Analyst role; the AI features off; a question that is not one;
    /// the store's errors.
    pub async fn ask(
        &self,
        caller: &Caller,
        question: &str,
        clock: AskerClock,
    ) -> ServiceResult<AskAnswer> {
        caller.require(Role::Analyst)?;
        let ai = self.assistant()?;
        let question = valid_question(question)?;
        answer(self.store.as_ref(), ai, &Asker::of(caller), question, clock).await
    }

    /// Queues `question` as a job a worker answers; its owner (or an Admin) reads it with
    /// [`Services::get_job`].
    ///
    /// # Errors
    /// As [`Services::ask`], checked before queueing; the queue's errors.
    pub async fn ask_later(
        &self,
        caller: &Caller,
        question: &str,
        clock: AskerClock,
    ) -> ServiceResult<QueuedQuestion> {
        caller.require(Role::Analyst)?;
        self.assistant()?;
        let question = valid_question(question)?;
        let asker = Asker::of(caller);
        let question_chars = question.chars().count();
        let job = NewJob {
            id: JobId::new(),
            kind: ASK_JOB.to_owned(),
            owner: asker.caller.clone(),
            payload: serde_json::to_value(AskJob {
                question,
                asker,
                clock,
            })
            .map_err(|e| ServiceError::Internal(e.to_string()))?,
            max_attempts: self.settings.job_max_attempts,
            keep: self.settings.job_keep,
        };
        self.jobs
            .enqueue_job(&job)
            .await
            .map_err(|e| ServiceError::from_queue(self.jobs.as_ref(), e))?;
        telemetry::job_enqueued(ASK_JOB);
        Ok(QueuedQuestion {
            job_id: job.id,
            status: JobStatus::Queued,
            question_chars,
        })
    }

    /// Answers a queued question as the door that queued it would have.
    pub(crate) async fn answer_job(&self, job: AskJob) -> ServiceResult<AskAnswer> {
        let Some(ai) = &self.ai else {
            return Err(ServiceError::Disabled(
                "the AI features are off on the worker that took this job (AI_FEATURES_ENABLED)",
            ));
        };
        answer(self.store.as_ref(), ai, &job.asker, job.question, job.clock).await
    }
}

/// The answer to a question that is not about the tenant's audit events.
fn declined(question: String) -> AskAnswer {
    AskAnswer {
        question,
        answer: "AOC answers questions about this tenant's audit events — who did what, when, \
                 from where — and this question names none of them. Ask, for example, \
                 \u{201c}Who changed admin roles this week?\u{201d} or \u{201c}How many failed \
                 sign-ins from France yesterday?\u{201d}"
            .into(),
        read_by: "parser".into(),
        written_by: "summary".into(),
        query: BTreeMap::new(),
        aggregation: Aggregation::List,
        after_hours: false,
        figures: Figures::default(),
        cited: Vec::new(),
        sample_size: 0,
        cached: false,
        notes: Vec::new(),
        understood: Vec::new(),
        ignored: Vec::new(),
        declined: true,
    }
}

/// Answers `question` for `asker`: the synchronous answer and an `ask` job's result.
async fn answer(
    store: &dyn Store,
    ai: &Assistant,
    asker: &Asker,
    question: String,
    clock: AskerClock,
) -> ServiceResult<AskAnswer> {
    // Looked up before the question is read, so a repeated question costs no model call. The
    // asker's clock is part of the key: "yesterday" differs by time zone.
    let keyed = format!("{}\u{1f}{question}", clock.utc_offset_minutes);
    let key = cache_key("ask", keyed, asker, ai);
    if let Some(hit) = ai.cache.get(&key).await
        && let Ok(mut answer) = serde_json::from_str::<AskAnswer>(&hit)
    {
        answer.cached = true;
        return Ok(answer);
    }
    let mut notes = Vec::new();
    let Some((intent, read_by, query)) =
        reading::read_question(ai, &asker.caller, &question, clock, &mut notes).await?
    else {
        return Ok(declined(question));
    };

    let aggregates = store
        .aggregate_events(
            &query,
            &AggregateSpec {
                interval_seconds: None,
                top: 10,
            },
        )
        .await?;
    let pool = reading::newest_events(store, &query, SAMPLE_POOL).await?;
    let after_hours = if intent.after_hours {
        Some(reading::count_after_hours(store, &query, ai, &mut notes).await?)
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
        understood: intent.understood(),
        ignored: intent.ignored.clone(),
        declined: false,
    };
    if let Ok(json) = serde_json::to_string(&answer) {
        ai.cache.put(&key, &json, ai.ask_ttl).await;
    }
    Ok(answer)
}
