//! The logger on iOS: every record goes to the unified log (`os_log`, subsystem `dev.natter`,
//! category = the record's target), where Xcode's console, Console.app and `log stream` show it.
//! Installed only when the process has no logger yet (an app's own logger wins); the level stays
//! under `set_log_level` (the `log` crate's max level).
//!
//! `os_log` is a C macro, so this calls what it expands to: `_os_log_impl` with a format
//! `"%{public}s"` and the argument buffer clang's `__builtin_os_log_format` would build for it. Pure
//! Rust on purpose: no C shim means `cargo check` for aarch64-apple-ios needs no iOS SDK
//! (scripts/check-targets.sh runs it on Linux).

use std::ffi::{c_char, c_void, CStr, CString};
use std::sync::Mutex;

/// `os_log_t`: an opaque, thread-safe handle that lives as long as the process.
#[derive(Clone, Copy)]
struct LogHandle(*mut c_void);
// SAFETY: os_log objects may be used from any thread (Apple: "os_log is thread safe").
unsafe impl Send for LogHandle {}
unsafe impl Sync for LogHandle {}

extern "C" {
    /// The image's own Mach-O header, which `os_log` passes to find the format string's image.
    static __dso_handle: c_void;
    fn os_log_create(subsystem: *const c_char, category: *const c_char) -> *mut c_void;
    fn os_log_type_enabled(log: *mut c_void, kind: u8) -> bool;
    fn _os_log_impl(dso: *const c_void, log: *mut c_void, kind: u8, format: *const c_char, buf: *mut u8, size: u32);
}

// os_log_type_t
const OS_LOG_TYPE_DEFAULT: u8 = 0x00;
const OS_LOG_TYPE_INFO: u8 = 0x01;
const OS_LOG_TYPE_DEBUG: u8 = 0x02;
const OS_LOG_TYPE_ERROR: u8 = 0x10;

const SUBSYSTEM: &CStr = c"dev.natter";
/// One string argument, not redacted (our records carry no secrets: the UserSig is redacted upstream).
const FORMAT: &CStr = c"%{public}s";

struct OsLogger {
    /// One handle per target (category), created on first use; a handful exist.
    handles: Mutex<Vec<(String, LogHandle)>>,
}

impl OsLogger {
    fn handle(&self, target: &str) -> Option<LogHandle> {
        let mut handles = self.handles.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, h)) = handles.iter().find(|(t, _)| t == target) {
            return Some(*h);
        }
        let category = CString::new(target).ok()?;
        // SAFETY: both arguments are NUL-terminated strings that outlive the call.
        let raw = unsafe { os_log_create(SUBSYSTEM.as_ptr(), category.as_ptr()) };
        if raw.is_null() {
            return None;
        }
        let h = LogHandle(raw);
        handles.push((target.to_owned(), h));
        Some(h)
    }
}

/// `log` levels onto os_log types: warn is the reference SDK's default level, os_log's "default".
fn os_log_type(level: log::Level) -> u8 {
    match level {
        log::Level::Error => OS_LOG_TYPE_ERROR,
        log::Level::Warn => OS_LOG_TYPE_DEFAULT,
        log::Level::Info => OS_LOG_TYPE_INFO,
        log::Level::Debug | log::Level::Trace => OS_LOG_TYPE_DEBUG,
    }
}

/// The argument buffer of `"%{public}s"`: summary (has a non-scalar item), item count, then the
/// item: descriptor (string kind 2 << 4 | public 0x2), size, the pointer itself.
fn public_string_args(text: &CStr) -> [u8; 12] {
    let mut buf = [0u8; 12];
    buf[0] = 0x02;
    buf[1] = 1;
    buf[2] = 0x22;
    buf[3] = 8;
    buf[4..].copy_from_slice(&(text.as_ptr() as usize as u64).to_ne_bytes());
    buf
}

impl log::Log for OsLogger {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let Some(handle) = self.handle(record.target()) else {
            return;
        };
        let kind = os_log_type(record.level());
        // SAFETY: a handle from os_log_create.
        if !unsafe { os_log_type_enabled(handle.0, kind) } {
            return;
        }
        // A NUL inside the text would cut it short: show it instead.
        let text = CString::new(record.args().to_string().replace('\0', "\\0")).unwrap_or_default();
        let mut args = public_string_args(&text);
        // SAFETY: the format and `text` are NUL-terminated and outlive the call; the buffer is laid
        // out as the format requires; __dso_handle is this image's header.
        unsafe {
            _os_log_impl(
                std::ptr::addr_of!(__dso_handle),
                handle.0,
                kind,
                FORMAT.as_ptr(),
                args.as_mut_ptr(),
                args.len() as u32,
            )
        };
    }

    fn flush(&self) {}
}

/// Installs the os_log logger unless a logger is set; true when it was installed. Called once per
/// process (under `init_logging`'s `Once`): the logger is leaked because `log` keeps it forever.
pub(crate) fn install_if_none() -> bool {
    let logger: &'static OsLogger = Box::leak(Box::new(OsLogger {
        handles: Mutex::new(Vec::new()),
    }));
    log::set_logger(logger).is_ok()
}
