//! Test helpers for AOC's own tests (feature `testing`): a Valkey that can be made to stop.

use std::sync::Mutex as StdMutex;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A TCP proxy to Valkey that the test can cut, connections and all.
pub struct ValkeyProxy {
    /// Where to connect: `redis://127.0.0.1:PORT`.
    pub url: String,
    tasks: std::sync::Arc<StdMutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl ValkeyProxy {
    /// A proxy to the Valkey at `redis_url`.
    pub async fn start(redis_url: &str) -> Self {
        let upstream = redis_url
            .trim_start_matches("redis://")
            .split('/')
            .next()
            .unwrap_or("127.0.0.1:6379")
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("redis://{}", listener.local_addr().expect("addr"));
        let tasks: std::sync::Arc<StdMutex<Vec<JoinHandle<()>>>> = Default::default();
        let spawned = tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                spawned.lock().expect("lock").push(task);
            }
        });
        Self { url, tasks, accept }
    }

    /// Valkey "stops": no new connections, and every open one is cut.
    pub fn stop(&self) {
        self.accept.abort();
        for task in self.tasks.lock().expect("lock").drain(..) {
            task.abort();
        }
    }
}
