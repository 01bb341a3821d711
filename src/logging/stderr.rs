//! The fallback logger off Android and iOS: one line per record on stderr, as env_logger prints
//! them, so a Node script or a desktop app sees Natter's warnings without wiring a logger.
//! It is installed only when the process has no logger yet (an app's own logger wins), and the
//! level stays under `set_log_level` (the `log` crate's max level).

use std::io::Write;

struct StderrLogger;

impl log::Log for StderrLogger {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        // One write per line so lines of concurrent threads do not interleave; a closed stderr
        // is not worth a panic.
        let line = format!("[natter {} {}] {}\n", record.level(), record.target(), record.args());
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn flush(&self) {
        let _ = std::io::stderr().flush();
    }
}

static LOGGER: StderrLogger = StderrLogger;

/// Installs the stderr logger unless a logger is set; true when it was installed.
pub(crate) fn install_if_none() -> bool {
    log::set_logger(&LOGGER).is_ok()
}
