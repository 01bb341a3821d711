//! The one tokio runtime Natter owns. Built on first use and never dropped: dropping a runtime
//! from async code panics (tokio#1950), and foreign callers (Kotlin, Swift, JS) have no runtime.

use once_cell::sync::Lazy;
use tokio::runtime::{Builder, Runtime};

static RUNTIME: Lazy<Runtime> = Lazy::new(|| {
    let mut builder = Builder::new_multi_thread();
    builder.worker_threads(2).thread_name("natter-rt").enable_all();
    // Attach each worker to the JVM once, instead of JNA attaching on every callback.
    #[cfg(target_os = "android")]
    builder.on_thread_start(crate::ffi::android::attach_current_thread);
    builder
        .build()
        .expect("the Natter runtime must start (threads and timers are available)")
});

pub fn handle() -> &'static tokio::runtime::Handle {
    RUNTIME.handle()
}
