//! Off Android and iOS, `init_logging` sends Natter's logs to stderr when the process has no
//! logger (a Node script or a desktop app sees the warnings without wiring anything), and it
//! leaves an app's own logger alone. Each case runs in a child process (this test binary again),
//! because a process has one logger for life.

use std::process::Command;

const CHILD: &str = "NATTER_STDERR_LOG_CHILD";

/// Runs `case` of this binary in a child with the child switch set; returns its stderr.
fn child_stderr(case: &str) -> String {
    let out = Command::new(std::env::current_exe().expect("the test binary"))
        .args([case, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .expect("run the child test");
    assert!(
        out.status.success(),
        "child {case} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn child_without_logger() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    natter::init_logging();
    log::warn!(target: "natter::probe", "warn-marker");
    log::info!(target: "natter::probe", "info-marker-hidden");
    natter::set_log_level(1).unwrap();
    log::info!(target: "natter::probe", "info-marker-shown");
}

#[test]
fn child_with_app_logger() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    struct Silent;
    impl log::Log for Silent {
        fn enabled(&self, _: &log::Metadata) -> bool {
            true
        }
        fn log(&self, _: &log::Record) {}
        fn flush(&self) {}
    }
    log::set_logger(&Silent).unwrap();
    log::set_max_level(log::LevelFilter::Trace);
    natter::init_logging();
    log::warn!(target: "natter::probe", "warn-marker");
}

#[test]
fn logs_reach_stderr_at_the_default_warn_level_when_no_logger_is_set() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let err = child_stderr("child_without_logger");
    assert!(err.contains("[natter WARN natter::probe] warn-marker"), "stderr: {err}");
    assert!(
        !err.contains("info-marker-hidden"),
        "info is below the default level: {err}"
    );
    assert!(
        err.contains("[natter INFO natter::probe] info-marker-shown"),
        "set_log_level(1) shows info: {err}"
    );
}

#[test]
fn an_app_logger_set_first_keeps_the_logs() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let err = child_stderr("child_with_app_logger");
    assert!(
        !err.contains("warn-marker"),
        "the app's logger gets the records, not stderr: {err}"
    );
}

#[test]
fn child_silenced_before_init() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    natter::set_log_level(4).unwrap();
    natter::init_logging();
    log::error!(target: "natter::probe", "error-marker-silenced");
}

#[test]
fn a_level_chosen_before_the_logger_is_installed_is_kept() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let err = child_stderr("child_silenced_before_init");
    assert!(
        !err.contains("error-marker-silenced"),
        "setLogLevel(4) before the first instance stays silent: {err}"
    );
}
