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
