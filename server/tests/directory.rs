//! The session directory's contract (`natter_server::directory::conformance`), run against every
//! engine: the same scenarios, written once.

use async_trait::async_trait;
use natter_server::directory::conformance::{self, Factory};
use natter_server::directory::memory::MemoryDirectory;
use natter_server::directory::{DirectorySettings, SessionDirectory};
use std::sync::Arc;

struct Memory;

#[async_trait]
impl Factory for Memory {
    async fn make(&self, settings: DirectorySettings) -> Arc<dyn SessionDirectory> {
        Arc::new(MemoryDirectory::new(settings))
    }
}

#[tokio::test]
async fn memory_engine_keeps_the_contract() {
    conformance::run_all(&Memory).await;
}

mod common;

use natter_server::directory::redis::{connect, RedisDirectory};
use natter_server::directory::NodeId;
use std::sync::atomic::{AtomicU64, Ordering};

/// Each scenario gets its own key prefix on one real redis-server.
struct Redis {
    url: String,
    next: AtomicU64,
}

#[async_trait]
impl Factory for Redis {
    async fn make(&self, settings: DirectorySettings) -> Arc<dyn SessionDirectory> {
        let (_, con) = connect(&self.url).await.expect("redis reachable");
        let prefix = format!("conf{}", self.next.fetch_add(1, Ordering::Relaxed));
        let d = RedisDirectory::register(
            con,
            prefix,
            NodeId("self".into()),
            std::time::Duration::from_secs(30),
            settings,
        )
        .await
        .expect("node registers");
        for node in conformance::NODES {
            d.mark_alive_for_tests(node).await.unwrap();
        }
        Arc::new(d)
    }
}

#[tokio::test]
async fn redis_engine_keeps_the_contract() {
    let redis = common::redis::RedisChild::start();
    conformance::run_all(&Redis {
        url: redis.url(),
        next: AtomicU64::new(0),
    })
    .await;
}
