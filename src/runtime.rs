//! The one tokio runtime Natter owns. Built on first use and never dropped: dropping a runtime
//! from async code panics (tokio#1950), and foreign callers (Kotlin, Swift, JS) have no runtime.
//!
//! One thread, `natter-rt`, runs every client's tasks: a session is a few frames a minute, so a
//! second worker buys no throughput an app can see, while tokio's multi-thread scheduler costs
//! ~53 KB of the shipped library (22 KB gzip) and a thread. Nothing in Natter blocks on the
//! runtime; listeners and sinks run on this thread and must hand slow work elsewhere.

use once_cell::sync::Lazy;
use tokio::runtime::{Builder, Handle};

static RUNTIME: Lazy<Handle> = Lazy::new(|| {
    let runtime = Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("the Natter runtime must start (timers and sockets are available)");
    let handle = runtime.handle().clone();
    std::thread::Builder::new()
        .name("natter-rt".into())
        .spawn(move || {
            #[cfg(target_os = "android")]
            crate::ffi::android::attach_current_thread();
            runtime.block_on(std::future::pending::<()>())
        })
        .expect("the Natter runtime thread must start");
    handle
});

pub fn handle() -> &'static Handle {
    &RUNTIME
}
