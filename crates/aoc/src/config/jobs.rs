//! The job queue's settings: Valkey (`REDIS_URL`) or the database, how long results are kept,
//! and how this process's workers run. Errors name the variable at fault; the Valkey URL (which
//! may carry a password) never appears in one.

use std::time::Duration;

use super::ConfigError;
use super::ai::{seconds, text};
use crate::cli::JobArgs;

/// The job queue and this process's workers, as configured.
#[derive(Debug, Clone)]
pub struct JobsConfig {
    /// Valkey for the queue and the answer cache; `None`: the database and in-process.
    pub redis_url: Option<String>,
    /// Before every Valkey key: `` or `prod-eu:`.
    pub key_namespace: String,
    /// Jobs run at once here; 0 (only in `aoc serve`): none.
    pub concurrency: usize,
    pub keep: Duration,
    pub timeout: Duration,
    pub lease: Duration,
    pub max_attempts: u32,
}

/// Which process the settings are for: a worker must run jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobProcess {
    Serve,
    Worker,
}

impl JobsConfig {
    pub fn from_args(args: &JobArgs, process: JobProcess) -> Result<Self, ConfigError> {
        let redis_url = text(args.redis_url.as_deref());
        if let Some(url) = &redis_url
            && !(url.starts_with("redis://") || url.starts_with("rediss://"))
        {
            return Err(ConfigError::new(
                "REDIS_URL",
                "redis-url",
                "expected redis://HOST:PORT or rediss://HOST:PORT",
            ));
        }
        let prefix = args.redis_key_prefix.trim();
        if prefix.len() > 64
            || !prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(ConfigError::new(
                "REDIS_KEY_PREFIX",
                "redis-key-prefix",
                "expected at most 64 letters, digits, '-', '_' or '.'",
            ));
        }
        let key_namespace = if prefix.is_empty() {
            String::new()
        } else {
            format!("{prefix}:")
        };
        let lowest = match process {
            JobProcess::Serve => 0,
            JobProcess::Worker => 1,
        };
        let concurrency = match args.worker_concurrency.trim().parse::<usize>() {
            Ok(n) if (lowest..=64).contains(&n) => n,
            _ => {
                return Err(ConfigError::new(
                    "WORKER_CONCURRENCY",
                    "worker-concurrency",
                    format!(
                        "invalid value {:?}: expected a whole number of jobs from {lowest} to 64",
                        args.worker_concurrency
                    ),
                ));
            }
        };
        let max_attempts = match args.job_max_attempts.trim().parse::<u32>() {
            Ok(n) if (1..=10).contains(&n) => n,
            _ => {
                return Err(ConfigError::new(
                    "JOB_MAX_ATTEMPTS",
                    "job-max-attempts",
                    format!(
                        "invalid value {:?}: expected a whole number from 1 to 10",
                        args.job_max_attempts
                    ),
                ));
            }
        };
        Ok(Self {
            redis_url,
            key_namespace,
            concurrency,
            keep: seconds(
                &args.job_result_seconds,
                60..=2_592_000,
                ("JOB_RESULT_SECONDS", "job-result-seconds"),
            )?,
            timeout: seconds(
                &args.job_timeout_seconds,
                10..=86_400,
                ("JOB_TIMEOUT_SECONDS", "job-timeout-seconds"),
            )?,
            lease: seconds(
                &args.job_lease_seconds,
                2..=600,
                ("JOB_LEASE_SECONDS", "job-lease-seconds"),
            )?,
            max_attempts,
        })
    }

    pub fn worker_settings(&self) -> aoc_jobs::WorkerSettings {
        aoc_jobs::WorkerSettings {
            concurrency: self.concurrency,
            lease: self.lease,
            timeout: self.timeout,
            ..aoc_jobs::WorkerSettings::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bad(change: impl Fn(&mut JobArgs), process: JobProcess) -> Option<&'static str> {
        let mut args = JobArgs::default();
        change(&mut args);
        JobsConfig::from_args(&args, process)
            .err()
            .and_then(|e| e.var)
    }

    #[test]
    fn defaults_keep_results_a_day_and_retry_three_times() {
        let config = JobsConfig::from_args(&JobArgs::default(), JobProcess::Serve).expect("ok");
        assert_eq!(config.redis_url, None);
        assert_eq!(config.concurrency, 2);
        assert_eq!(config.keep, Duration::from_secs(86_400));
        assert_eq!(config.lease, Duration::from_secs(30));
        assert_eq!(config.timeout, Duration::from_secs(300));
        assert_eq!(config.max_attempts, 3);
    }

    #[test]
    fn each_bad_setting_is_named() {
        let serve = JobProcess::Serve;
        assert_eq!(
            bad(|a| a.redis_url = Some("http://cache:6379".into()), serve),
            Some("REDIS_URL")
        );
        assert_eq!(
            bad(|a| a.redis_key_prefix = "a b{c}".into(), serve),
            Some("REDIS_KEY_PREFIX")
        );
        assert_eq!(
            bad(|a| a.worker_concurrency = "many".into(), serve),
            Some("WORKER_CONCURRENCY")
        );
        // A worker that runs nothing is a mistake; a server that leaves jobs to workers is not.
        assert_eq!(
            bad(|a| a.worker_concurrency = "0".into(), JobProcess::Worker),
            Some("WORKER_CONCURRENCY")
        );
        assert_eq!(bad(|a| a.worker_concurrency = "0".into(), serve), None);
        assert_eq!(
            bad(|a| a.job_result_seconds = "1".into(), serve),
            Some("JOB_RESULT_SECONDS")
        );
        assert_eq!(
            bad(|a| a.job_timeout_seconds = "-5".into(), serve),
            Some("JOB_TIMEOUT_SECONDS")
        );
        assert_eq!(
            bad(|a| a.job_lease_seconds = "1".into(), serve),
            Some("JOB_LEASE_SECONDS")
        );
        assert_eq!(
            bad(|a| a.job_max_attempts = "0".into(), serve),
            Some("JOB_MAX_ATTEMPTS")
        );
    }

    #[test]
    fn the_valkey_password_stays_out_of_errors() {
        let args = JobArgs {
            redis_url: Some("http://:hunter2@cache:6379".into()),
            ..JobArgs::default()
        };
        let error = JobsConfig::from_args(&args, JobProcess::Serve).expect_err("bad");
        assert!(!error.to_string().contains("hunter2"), "{error}");
    }
}
