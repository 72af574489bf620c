//! Both caches, Valkey against the real server (`AOC_TEST_REDIS_URL`, default
//! `redis://127.0.0.1:6379`), and Valkey going away mid-test behind a proxy the test stops.

use super::*;
use crate::testing::ValkeyProxy as Proxy;

fn redis_url() -> String {
    std::env::var("AOC_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn key(subject: &str, scope: &str) -> CacheKey {
    CacheKey {
        kind: "ask",
        subject: subject.into(),
        scope: scope.into(),
        role: "Analyst".into(),
        model: "model-a/prompt-1".into(),
    }
}

/// A subject no other run of the tests uses.
fn unique(label: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{label} {nanos} {}", std::process::id())
}

#[test]
fn keys_differ_exactly_where_answers_would() {
    let base = key("How many failed sign-ins yesterday?", "hours=24");
    let same = key("  how many FAILED sign-ins   yesterday? ", "hours=24");
    assert_eq!(base.storage_key(), same.storage_key());
    assert!(base.storage_key().starts_with("aoc:ask:"));
    assert!(!base.storage_key().contains("sign"));
    let others = [
        key("How many failed sign-ins today?", "hours=24"),
        key("How many failed sign-ins yesterday?", "hours=48"),
        CacheKey {
            role: "Reader".into(),
            ..base.clone()
        },
        CacheKey {
            model: "model-b/prompt-1".into(),
            ..base.clone()
        },
        CacheKey {
            kind: "explain",
            ..base.clone()
        },
    ];
    for other in others {
        assert_ne!(base.storage_key(), other.storage_key(), "{other:?}");
    }
    // Parts cannot run into each other.
    let a = CacheKey {
        subject: "ab".into(),
        scope: "c".into(),
        ..base.clone()
    };
    let b = CacheKey {
        subject: "a".into(),
        scope: "bc".into(),
        ..base
    };
    assert_ne!(a.storage_key(), b.storage_key());
}

#[tokio::test]
async fn the_memory_cache_keeps_answers_for_their_time() {
    let cache = MemoryCache::default();
    let k = key("who signed in", "hours=1");
    assert_eq!(cache.get(&k).await, None);
    cache.put(&k, "answer", Duration::from_secs(60)).await;
    assert_eq!(cache.get(&k).await.as_deref(), Some("answer"));
    assert_eq!(cache.get(&key("who signed in", "hours=2")).await, None);

    let short = key("short-lived", "x");
    cache
        .put(&short, "soon gone", Duration::from_millis(30))
        .await;
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert_eq!(cache.get(&short).await, None);
}

#[tokio::test]
async fn the_valkey_cache_keeps_answers_for_their_time() {
    let cache = ValkeyCache::new(&redis_url()).expect("url");
    let k = key(&unique("valkey round trip"), "hours=24");
    assert_eq!(cache.get(&k).await, None);
    cache.put(&k, "forty-two", Duration::from_secs(30)).await;
    assert_eq!(cache.get(&k).await.as_deref(), Some("forty-two"));
    assert_eq!(
        cache
            .get(&CacheKey {
                scope: "hours=48".into(),
                ..k.clone()
            })
            .await,
        None
    );

    // Stored with its time to live.
    let client = redis::Client::open(redis_url()).expect("client");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let ttl: i64 = redis::cmd("PTTL")
        .arg(k.storage_key())
        .query_async(&mut conn)
        .await
        .expect("pttl");
    assert!(ttl > 0 && ttl <= 30_000, "{ttl}");
}

#[tokio::test]
async fn valkey_going_away_mid_test_means_no_cache_not_errors() {
    let proxy = Proxy::start(&redis_url()).await;
    let cache = ValkeyCache::new(&proxy.url).expect("url");
    let k = key(&unique("outage"), "hours=24");
    cache.put(&k, "cached", Duration::from_secs(30)).await;
    assert_eq!(cache.get(&k).await.as_deref(), Some("cached"));

    proxy.stop();
    // Each call comes back (a miss, a dropped store) instead of failing or hanging.
    let bounded = Duration::from_secs(10);
    let got = tokio::time::timeout(bounded, cache.get(&k))
        .await
        .expect("get returned");
    assert_eq!(got, None);
    tokio::time::timeout(bounded, cache.put(&k, "again", Duration::from_secs(30)))
        .await
        .expect("put returned");
    let got = tokio::time::timeout(bounded, cache.get(&k))
        .await
        .expect("get returned");
    assert_eq!(got, None);
}

#[tokio::test]
async fn valkey_out_of_reach_from_the_start_means_no_cache() {
    let cache = ValkeyCache::new("redis://127.0.0.1:9").expect("url");
    let k = key("never stored", "x");
    cache.put(&k, "value", Duration::from_secs(30)).await;
    assert_eq!(cache.get(&k).await, None);
    assert!(ValkeyCache::new("not a url").is_err());
}
