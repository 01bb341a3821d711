//! A [`SessionDirectory`] that times every call of the one it wraps into
//! `natter_directory_op_seconds{op}`. Every engine gets it (in `Shared::with_engine`), so the
//! histogram shows what a Redis round trip costs against the in-memory map.

use crate::directory::{Admission, AdmitError, ConnId, DirectoryError, InstanceInfo, KickOrder, SessionDirectory};
use crate::metrics::{DirectoryOp, Metrics};
use async_trait::async_trait;
use natter_protocol::KickType;
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug)]
pub(crate) struct TimedDirectory {
    inner: Arc<dyn SessionDirectory>,
    metrics: Arc<Metrics>,
}

impl TimedDirectory {
    pub(crate) fn wrap(inner: Arc<dyn SessionDirectory>, metrics: Arc<Metrics>) -> Arc<dyn SessionDirectory> {
        Arc::new(TimedDirectory { inner, metrics })
    }

    async fn timed<T>(&self, op: DirectoryOp, call: impl std::future::Future<Output = T>) -> T {
        let start = Instant::now();
        let out = call.await;
        self.metrics.directory_op(op, start.elapsed());
        out
    }
}

#[async_trait]
impl SessionDirectory for TimedDirectory {
    async fn admit(&self, login: &Arc<Admission>) -> Result<Vec<KickOrder>, AdmitError> {
        self.timed(DirectoryOp::Admit, self.inner.admit(login)).await
    }

    async fn remove(&self, user_id: &str, conn: &ConnId) -> Result<bool, DirectoryError> {
        self.timed(DirectoryOp::Remove, self.inner.remove(user_id, conn)).await
    }

    async fn kick_self(&self, user_id: &str, conn: &ConnId, kick: KickType) -> Result<bool, DirectoryError> {
        self.timed(DirectoryOp::KickSelf, self.inner.kick_self(user_id, conn, kick))
            .await
    }

    async fn kick_user(&self, user_id: &str, kick: KickType) -> Result<Vec<KickOrder>, DirectoryError> {
        self.timed(DirectoryOp::KickUser, self.inner.kick_user(user_id, kick))
            .await
    }

    async fn kick_instance(
        &self,
        user_id: &str,
        instance_id: &str,
        kick: KickType,
    ) -> Result<Option<KickOrder>, DirectoryError> {
        self.timed(
            DirectoryOp::KickInstance,
            self.inner.kick_instance(user_id, instance_id, kick),
        )
        .await
    }

    async fn instances(&self, user_id: &str) -> Result<Vec<InstanceInfo>, DirectoryError> {
        self.timed(DirectoryOp::Instances, self.inner.instances(user_id)).await
    }

    async fn remembered_kicks(&self) -> Result<usize, DirectoryError> {
        self.timed(DirectoryOp::RememberedKicks, self.inner.remembered_kicks())
            .await
    }
}
