//! The job queue's behaviour, shared by both store engines and the Valkey queue.

use std::collections::HashSet;
use std::time::Duration;

use chrono::Utc;
use serde_json::json;

use crate::{JobId, JobOutcome, JobQueue, JobStatus, NewJob, abandoned_error};

const LONG: Duration = Duration::from_secs(60);

fn job(kind: &str, owner: &str, max_attempts: u32, keep: Duration) -> NewJob {
    NewJob {
        id: JobId::new(),
        kind: kind.to_owned(),
        owner: owner.to_owned(),
        payload: json!({"question": "failed sign-ins today?", "n": 1}),
        max_attempts,
        keep,
    }
}

pub async fn a_job_runs_from_queued_to_succeeded(queue: &dyn JobQueue) {
    let new = job("ask", "t/alice", 3, Duration::from_secs(3600));
    let before = Utc::now();
    queue.enqueue_job(&new).await.expect("enqueue");
    let queued = queue.get_job(new.id).await.expect("get").expect("kept");
    assert_eq!(queued.status, JobStatus::Queued);
    assert_eq!((queued.attempts, queued.owner.as_str()), (0, "t/alice"));
    assert_eq!(queued.kind, "ask");
    assert!(queued.started_at.is_none() && queued.result.is_none());
    assert_eq!(queue.queued_jobs().await.expect("depth"), 1);

    let claimed = queue
        .claim_job("w1", LONG)
        .await
        .expect("claim")
        .expect("a job");
    assert_eq!(claimed.id, new.id);
    assert_eq!(claimed.payload, new.payload);
    assert_eq!((claimed.attempt, claimed.owner.as_str()), (1, "t/alice"));
    assert!(queue.claim_job("w2", LONG).await.expect("claim").is_none());
    assert_eq!(queue.queued_jobs().await.expect("depth"), 0);
    let running = queue.get_job(new.id).await.expect("get").expect("kept");
    assert_eq!(running.status, JobStatus::Running);
    assert!(running.started_at.is_some());
    assert!(queue.renew_job(new.id, "w1", LONG).await.expect("renew"));
    assert!(!queue.renew_job(new.id, "w2", LONG).await.expect("not w2's"));

    let result = json!({"answer": "12 failed sign-ins", "cited": ["x"]});
    assert!(
        !queue
            .finish_job(new.id, "w2", &JobOutcome::Succeeded(json!("wrong")))
            .await
            .expect("finish by another")
    );
    assert!(
        queue
            .finish_job(new.id, "w1", &JobOutcome::Succeeded(result.clone()))
            .await
            .expect("finish")
    );
    assert!(
        !queue
            .finish_job(new.id, "w1", &JobOutcome::Failed("twice".into()))
            .await
            .expect("finish twice")
    );
    let done = queue.get_job(new.id).await.expect("get").expect("kept");
    assert_eq!(done.status, JobStatus::Succeeded);
    assert_eq!(done.result, Some(result));
    assert_eq!((done.attempts, done.error), (1, None));
    let finished = done.finished_at.expect("finished_at");
    assert!(finished >= before - chrono::Duration::seconds(1));
    let kept_for = done.expires_at - finished;
    assert!(
        (kept_for - chrono::Duration::seconds(3600)).abs() < chrono::Duration::seconds(5),
        "kept for {kept_for}"
    );
    assert!(queue.claim_job("w1", LONG).await.expect("claim").is_none());
    assert!(queue.get_job(JobId::new()).await.expect("get").is_none());
}

pub async fn jobs_are_taken_oldest_first_and_by_one_worker_each(queue: &dyn JobQueue) {
    let mut ids = Vec::new();
    for _ in 0..4 {
        let new = job("ask", "t/alice", 3, LONG);
        queue.enqueue_job(&new).await.expect("enqueue");
        ids.push(new.id);
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    let first = queue
        .claim_job("w0", LONG)
        .await
        .expect("claim")
        .expect("job");
    assert_eq!(first.id, ids[0], "oldest first");

    // Eight workers race for the other three jobs.
    let workers: Vec<String> = (1..=8).map(|n| format!("w{n}")).collect();
    let claims = workers.iter().map(|w| queue.claim_job(w, LONG)).collect();
    let results = futures_join_all(claims).await;
    let taken: Vec<JobId> = results
        .into_iter()
        .filter_map(|r| r.expect("claim"))
        .map(|c| c.id)
        .collect();
    assert_eq!(taken.len(), 3, "each job once: {taken:?}");
    let distinct: HashSet<JobId> = taken.iter().copied().collect();
    assert_eq!(distinct, ids[1..].iter().copied().collect());
}

async fn futures_join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    // Polled together on this task, so the claims interleave at every await.
    let mut pinned: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in pinned.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(|o| o.expect("ready")).collect()
}

pub async fn a_dead_workers_job_is_taken_again_and_finished_once(queue: &dyn JobQueue) {
    let new = job("ask", "t/alice", 2, LONG);
    queue.enqueue_job(&new).await.expect("enqueue");
    let short = Duration::from_millis(300);
    let first = queue
        .claim_job("dead", short)
        .await
        .expect("claim")
        .expect("job");
    assert_eq!(first.attempt, 1);
    // Held: nobody else gets it while the lease runs.
    assert!(
        queue
            .claim_job("other", LONG)
            .await
            .expect("claim")
            .is_none()
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    // The worker stopped renewing: the job waits for the next worker.
    let orphan = queue.get_job(new.id).await.expect("get").expect("kept");
    assert_eq!(orphan.status, JobStatus::Queued);
    assert_eq!(queue.queued_jobs().await.expect("depth"), 1);
    let second = queue
        .claim_job("alive", LONG)
        .await
        .expect("claim")
        .expect("again");
    assert_eq!((second.id, second.attempt), (new.id, 2));
    // The first worker, had it only been slow, can neither renew nor finish it now.
    assert!(!queue.renew_job(new.id, "dead", LONG).await.expect("renew"));
    assert!(
        !queue
            .finish_job(new.id, "dead", &JobOutcome::Succeeded(json!(1)))
            .await
            .expect("finish")
    );
    assert!(
        queue
            .finish_job(new.id, "alive", &JobOutcome::Succeeded(json!(2)))
            .await
            .expect("finish")
    );
    let done = queue.get_job(new.id).await.expect("get").expect("kept");
    assert_eq!((done.status, done.attempts), (JobStatus::Succeeded, 2));
    assert_eq!(done.result, Some(json!(2)));
}

pub async fn a_job_that_keeps_losing_its_worker_fails(queue: &dyn JobQueue) {
    let new = job("ask", "t/alice", 1, LONG);
    queue.enqueue_job(&new).await.expect("enqueue");
    queue
        .claim_job("dead", Duration::from_millis(200))
        .await
        .expect("claim")
        .expect("job");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        queue
            .claim_job("next", LONG)
            .await
            .expect("claim")
            .is_none()
    );
    let failed = queue.get_job(new.id).await.expect("get").expect("kept");
    assert_eq!(failed.status, JobStatus::Failed);
    assert_eq!(failed.error.as_deref(), Some(abandoned_error(1).as_str()));
    assert!(failed.finished_at.is_some());
    assert!(!queue.renew_job(new.id, "dead", LONG).await.expect("renew"));
}

pub async fn finished_jobs_are_kept_for_their_time_then_purged(queue: &dyn JobQueue) {
    let short = job("ask", "t/alice", 3, Duration::from_millis(400));
    queue.enqueue_job(&short).await.expect("enqueue");
    let claimed = queue
        .claim_job("w", LONG)
        .await
        .expect("claim")
        .expect("job");
    assert!(
        queue
            .finish_job(
                claimed.id,
                "w",
                &JobOutcome::Failed("the model said \0 no".into())
            )
            .await
            .expect("finish")
    );
    let failed = queue.get_job(short.id).await.expect("get").expect("kept");
    assert_eq!(failed.status, JobStatus::Failed);
    assert_eq!(failed.error.as_deref(), Some("the model said \u{FFFD} no"));
    // A running job outlives its keep time; a finished one does not.
    let running = job("ask", "t/bob", 3, Duration::from_millis(100));
    queue.enqueue_job(&running).await.expect("enqueue");
    queue
        .claim_job("w", LONG)
        .await
        .expect("claim")
        .expect("job");
    let kept = job("ask", "t/bob", 3, LONG);
    queue.enqueue_job(&kept).await.expect("enqueue");
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    queue.purge_jobs().await.expect("purge");
    assert!(queue.get_job(short.id).await.expect("get").is_none());
    let still = queue
        .get_job(running.id)
        .await
        .expect("get")
        .expect("running");
    assert_eq!(still.status, JobStatus::Running);
    assert!(queue.get_job(kept.id).await.expect("get").is_some());
    assert!(
        queue
            .finish_job(running.id, "w", &JobOutcome::Succeeded(json!({"a": "\0"})))
            .await
            .expect("finish")
    );
    let done = queue.get_job(running.id).await.expect("get").expect("kept");
    assert_eq!(done.result, Some(json!({"a": "\u{FFFD}"})));
}
