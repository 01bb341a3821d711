//! The hub's `userSigProvider` bridge: the provider lives in the face (a JS function), so the
//! session's request goes out as a `userSigNeeded {requestId}` item and comes back through
//! `Hub::provide_user_sig`. Only the face sees these items; apps see the provider being called.

use super::outbox::Outbox;
use super::HubItem;
use crate::error::ChatError;
use crate::user_sig_provider::{UserSigFuture, UserSigProvider};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::oneshot;

/// Hub item name of a provider request (data `{"requestId": n}`).
pub const USER_SIG_NEEDED: &str = "userSigNeeded";

type Answer = Result<String, ChatError>;

/// Provider requests waiting for the face's answer, by request id.
#[derive(Default)]
pub(crate) struct SigRequests {
    next: AtomicU64,
    waiting: Mutex<HashMap<u64, oneshot::Sender<Answer>>>,
}

impl SigRequests {
    fn waiting(&self) -> MutexGuard<'_, HashMap<u64, oneshot::Sender<Answer>>> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Delivers the face's answer; false for an unknown or already answered id.
    pub(crate) fn answer(&self, request_id: u64, answer: Answer) -> bool {
        let sender = self.waiting().remove(&request_id);
        sender.is_some_and(|s| s.send(answer).is_ok())
    }
}

/// The provider the hub gives an instance whose face has one.
pub(crate) struct FaceProvider {
    pub(crate) instance_id: Arc<Mutex<String>>,
    pub(crate) requests: Arc<SigRequests>,
    pub(crate) outbox: Arc<Outbox>,
}

impl UserSigProvider for FaceProvider {
    fn user_sig(&self) -> UserSigFuture {
        let id = self.requests.next.fetch_add(1, Ordering::Relaxed) + 1;
        let (tx, rx) = oneshot::channel();
        self.requests.waiting().insert(id, tx);
        let instance_id = self.instance_id.lock().unwrap_or_else(|e| e.into_inner()).clone();
        self.outbox.push(HubItem::Event {
            instance_id,
            name: USER_SIG_NEEDED.to_owned(),
            data_json: serde_json::json!({ "requestId": id }).to_string(),
        });
        let requests = self.requests.clone();
        Box::pin(async move {
            let answer = rx.await.unwrap_or_else(|_| {
                Err(ChatError::Internal {
                    detail: "the face dropped the UserSig request".into(),
                })
            });
            requests.waiting().remove(&id);
            answer
        })
    }
}
