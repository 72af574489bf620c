//! What AOC's workers run: the handler of every job kind the API enqueues. `aoc serve` runs it
//! in process and `aoc worker` in separate processes; both answer a job exactly as the route
//! would have answered the request.

use std::sync::Arc;

use async_trait::async_trait;

use aoc_ai::Assistant;
use aoc_jobs::JobHandler;
use aoc_store::{ClaimedJob, Store, StoreError};

use crate::error::ApiError;
use crate::routes::ask::{ASK_JOB, AskJob, answer};

/// The handler of the API's jobs.
pub struct ApiJobs {
    store: Arc<dyn Store>,
    /// The AI features of this process; `None` fails `ask` jobs with the reason.
    ai: Option<Arc<Assistant>>,
}

impl ApiJobs {
    pub fn new(store: Arc<dyn Store>, ai: Option<Arc<Assistant>>) -> Self {
        Self { store, ai }
    }
}

#[async_trait]
impl JobHandler for ApiJobs {
    async fn run(&self, job: &ClaimedJob) -> Result<serde_json::Value, String> {
        match job.kind.as_str() {
            ASK_JOB => {
                let Some(ai) = &self.ai else {
                    return Err("the AI features are off on the worker that took this job \
                        (AI_FEATURES_ENABLED)"
                        .into());
                };
                let ask: AskJob = serde_json::from_value(job.payload.clone())
                    .map_err(|e| format!("the job's question could not be read: {e}"))?;
                let answer = answer(self.store.as_ref(), ai, &ask.asker, ask.question)
                    .await
                    .map_err(|e| job_error(&e))?;
                serde_json::to_value(answer).map_err(|e| e.to_string())
            }
            other => Err(format!(
                "this AOC does not know jobs of kind {other:?}; is the worker older than the server?"
            )),
        }
    }
}

/// An error as the job's owner may read it: what they can act on, never internals.
fn job_error(error: &ApiError) -> String {
    match error {
        ApiError::InvalidParameter { .. }
        | ApiError::NotFound(_)
        | ApiError::Disabled(_)
        | ApiError::Store(StoreError::InvalidArgument { .. } | StoreError::NotFound { .. }) => {
            error.to_string()
        }
        ApiError::Store(StoreError::Unavailable(_)) => {
            tracing::warn!(error = %error, "a job could not reach the database");
            "the database could not be reached; ask again shortly".into()
        }
        other => {
            tracing::error!(error = %other, "a job failed");
            "the server failed to answer; the worker's logs have the details".into()
        }
    }
}
