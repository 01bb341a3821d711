//! Log level control in the reference SDK's scale, and idempotent logger/panic-hook setup.

use crate::error::ChatError;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

/// Whether the app chose a level, so installing the default logger never overrides it (the `log`
/// crate's own level cannot tell "silent" from "never set").
static LEVEL_CHOSEN: AtomicBool = AtomicBool::new(false);

#[cfg(target_os = "ios")]
mod oslog;
#[cfg(not(any(target_os = "android", target_os = "ios")))]
mod stderr;

/// `setLogLevel`: 0 = debug, 1 = info, 2 = warn, 3 = error, 4 = silent (the reference scale).
pub fn set_log_level(level: i32) -> Result<(), ChatError> {
    let filter = match level {
        0 => log::LevelFilter::Debug,
        1 => log::LevelFilter::Info,
        2 => log::LevelFilter::Warn,
        3 => log::LevelFilter::Error,
        4 => log::LevelFilter::Off,
        _ => return Err(ChatError::invalid(format!("log level must be 0..=4, got {level}"))),
    };
    log::set_max_level(filter);
    LEVEL_CHOSEN.store(true, Ordering::Relaxed);
    Ok(())
}

static INIT: Once = Once::new();

/// Installs the platform logger (logcat on Android, os_log on iOS, stderr elsewhere; on iOS and
/// elsewhere only when the process has no logger yet) and a panic hook that logs panics before the previous hook runs.
/// Safe to call any number of times, also when the app already set a logger.
pub fn init_logging() {
    INIT.call_once(|| {
        #[cfg(target_os = "android")]
        android_logger::init_once(
            android_logger::Config::default()
                .with_max_level(log::LevelFilter::Info)
                .with_tag("natter"),
        );
        // The `log` crate starts with every level off; warn is the reference SDK's default
        // level (2). A level the app already chose with `set_log_level` (silent included) is kept.
        #[cfg(target_os = "ios")]
        let installed = oslog::install_if_none();
        #[cfg(not(any(target_os = "android", target_os = "ios")))]
        let installed = stderr::install_if_none();
        #[cfg(not(target_os = "android"))]
        if installed && !LEVEL_CHOSEN.load(Ordering::Relaxed) {
            log::set_max_level(log::LevelFilter::Warn);
        }
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            log::error!("panic in Natter: {info}");
            previous(info);
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_the_reference_scale() {
        set_log_level(4).unwrap();
        assert_eq!(log::max_level(), log::LevelFilter::Off);
        set_log_level(0).unwrap();
        assert_eq!(log::max_level(), log::LevelFilter::Debug);
        assert_eq!(set_log_level(5).unwrap_err().code(), 9001);
        assert_eq!(set_log_level(-1).unwrap_err().code(), 9001);
        init_logging();
        init_logging();
    }
}
