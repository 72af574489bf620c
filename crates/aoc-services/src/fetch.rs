//! Fetching now: one collection run of every configured (tenant, source).

use std::sync::Arc;

use serde::Serialize;

use aoc_sources::m365::{NoProgress, RunRequest, RunStatus, SourceRun};

use crate::Services;
use crate::caller::{Caller, Role};
use crate::error::{ServiceError, ServiceResult};
use crate::params::Params;

/// The use case's arguments.
pub const FETCH_PARAMS: [&str; 1] = ["hours"];
/// Longest look-back of a manual run: a week, the Management API's own limit.
const MAX_HOURS: u32 = 168;

/// What each run did.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FetchReport {
    pub runs: Vec<SourceRun>,
    /// Records the sources returned, repeats included.
    pub fetched: u64,
    /// Records stored for the first time.
    pub new: u64,
    /// Runs that failed.
    pub failed: usize,
}

fn parse_hours(value: &str) -> Result<u32, String> {
    value
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| value.parse::<u32>().ok())
        .flatten()
        .filter(|h| (1..=MAX_HOURS).contains(h))
        .ok_or_else(|| format!("expected a whole number of hours from 1 to {MAX_HOURS}"))
}

/// `hours`: how far back to fetch, instead of each source's watermark.
///
/// # Errors
/// Not a whole number of hours from 1 to 168.
pub fn fetch_hours(p: &Params) -> ServiceResult<Option<u32>> {
    p.parsed("hours", parse_hours)
}

impl Services {
    /// Runs every configured source once, now: from its watermark, or over the last `hours`.
    /// An Admin's action: it calls Microsoft on the server's credentials. The lease per source
    /// keeps it from overlapping a scheduled run.
    ///
    /// # Errors
    /// A caller without the Admin role; no tenant configured.
    pub async fn fetch_now(
        &self,
        caller: &Caller,
        hours: Option<u32>,
    ) -> ServiceResult<FetchReport> {
        caller.require(Role::Admin)?;
        let Some(collection) = self.collection.as_ref().map(Arc::clone) else {
            return Err(ServiceError::CollectionNotConfigured);
        };
        let request = RunRequest {
            hours,
            ..RunRequest::default()
        };
        // Its own task, so a caller who gives up waiting does not cut the run off half-way: it
        // finishes, records its outcome and releases its leases.
        let runs = tokio::spawn(async move { collection.run(&request, &NoProgress).await })
            .await
            .map_err(|e| ServiceError::Internal(format!("the collection run stopped: {e}")))?;
        Ok(FetchReport {
            fetched: runs.iter().map(|r| r.fetched).sum(),
            new: runs.iter().map(|r| r.new).sum(),
            failed: runs
                .iter()
                .filter(|r| r.status == RunStatus::Failed)
                .count(),
            runs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_are_whole_numbers_from_1_to_168() {
        assert_eq!(parse_hours("1"), Ok(1));
        assert_eq!(parse_hours("168"), Ok(168));
        for bad in [
            "0",
            "169",
            "abc",
            "1.5",
            "",
            "+5",
            "-1",
            " 5",
            "99999999999",
        ] {
            assert!(parse_hours(bad).is_err(), "{bad:?}");
        }
    }
}
