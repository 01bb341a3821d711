//! Item 6: library size. Each artifact (built by scripts/bench.sh) is stripped in a copy
//! (`llvm-strip`, which reads every target's objects) and compressed with gzip, raw and
//! compressed sizes next to the ≤ 1.0 MB compressed per ABI target.

use crate::report::Row;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The target: ≤ 1.0 MB compressed per ABI.
const TARGET_BYTES: f64 = 1_000_000.0;

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e} (scripts/check-targets.sh installs llvm)"));
    assert!(out.status.success(), "{cmd:?} failed: {}", out.status);
    out.stdout
}

fn strip(artifact: &Path, work: &Path, label: &str) -> PathBuf {
    let copy = work.join(format!(
        "{}.{}",
        label.replace(['/', ' '], "_"),
        artifact.extension().unwrap_or_default().to_string_lossy()
    ));
    std::fs::copy(artifact, &copy).unwrap_or_else(|e| panic!("cannot copy {}: {e}", artifact.display()));
    // A shared library ships without its symbol table; an archive keeps its symbols (the app's
    // linker needs them) and loses only debug info.
    let mode = if artifact.extension().is_some_and(|e| e == "a") {
        "--strip-debug"
    } else {
        "--strip-all"
    };
    run(Command::new("llvm-strip").arg(mode).arg(&copy));
    copy
}

/// `artifacts`: (label, path) pairs; `gzip_level`: 9 in the full run.
pub fn run_all(artifacts: &[(String, PathBuf)], work: &Path, gzip_level: u32) -> Vec<Row> {
    std::fs::create_dir_all(work).expect("the work directory");
    let mut rows = vec![];
    for (label, path) in artifacts {
        let stripped = strip(path, work, label);
        let raw = std::fs::metadata(&stripped).unwrap().len() as f64;
        let gz = run(Command::new("gzip")
            .arg(format!("-{gzip_level}"))
            .arg("-c")
            .arg(&stripped))
        .len() as f64;
        rows.push(Row::new("6", format!("size: {label}, stripped"), raw / 1e6, "MB").note(path.display().to_string()));
        rows.push(
            Row::new("6", format!("size: {label}, gzip -{gzip_level}"), gz / 1e6, "MB")
                .against("target", TARGET_BYTES / 1e6)
                .note("target ≤ 1.0 MB compressed per ABI"),
        );
        let _ = std::fs::remove_file(&stripped);
    }
    rows
}
