//! Jobs: work that outlives a request, run by a pool of workers in any AOC process.
//!
//! The queue is an [`aoc_store::JobQueue`]: the store's (the embedded queue, on the SQLite file
//! or PostgreSQL) or [`ValkeyJobQueue`] when `REDIS_URL` is set. A [`Worker`] claims jobs under a
//! lease, renews it while the job runs, and records the outcome; what a job does is a
//! [`JobHandler`]'s business, so this crate knows nothing of questions or models.

pub mod telemetry;
mod valkey;
mod worker;

pub use redis::aio::ConnectionManager as ValkeyConnection;
pub use valkey::{ValkeyJobQueue, connect};
pub use worker::{JobHandler, Worker, WorkerSettings};
