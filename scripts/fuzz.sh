#!/usr/bin/env bash
# Builds every cargo-fuzz target in fuzz/ and runs each for a time box, seeded from the committed
# corpus in fuzz/corpus/<target>/ (which also replays every past crash as a regression).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default: 30 s, every target)
#
# Installs cargo-fuzz into the cache when missing; uses the nightly toolchain when rustup has one,
# else stable with RUSTC_BOOTSTRAP=1 (cargo-fuzz's flags are nightly-only). The fuzz build has its
# own workspace and its own target dir ($NATTER_CACHE/fuzz-target/<checkout>, or NATTER_FUZZ_TARGET_DIR), so
# it never touches the main build. New inputs libFuzzer finds go to <target dir>/corpus/<target>
# (not committed); a crash is written to fuzz/artifacts/<target>/ and makes this script exit
# non-zero, printing the input's path. Reproduce one with:
#   <target dir>/<triple>/release/<target> fuzz/artifacts/<target>/crash-…
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

SECONDS_PER_TARGET=${1:-30}
shift || true
if ! [[ $SECONDS_PER_TARGET =~ ^[0-9]+$ ]] || [[ $SECONDS_PER_TARGET -lt 1 ]]; then
    echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]" >&2
    exit 2
fi
ALL_TARGETS=(client_frame server_frame usersig rest_body session_machine vendor_frame request_head)
TARGETS=("${@:-${ALL_TARGETS[@]}}")
# Inputs larger than a frame are refused before parsing anywhere; 4 KiB covers every real input.
MAX_LEN=4096
RSS_LIMIT_MB=2048
# One input taking longer than this is a hang.
UNIT_TIMEOUT_S=10

NATTER_CACHE="${NATTER_CACHE:-$HOME/.cache/natter}"
FUZZ_ROOT="$NATTER_CACHE/cargo-fuzz"
export PATH="$FUZZ_ROOT/bin:$PATH"
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz into $FUZZ_ROOT"
    cargo install --locked cargo-fuzz --root "$FUZZ_ROOT"
fi

TOOLCHAIN=()
if command -v rustup >/dev/null 2>&1 && rustup toolchain list | grep -q '^nightly'; then
    TOOLCHAIN=(+nightly)
else
    echo "fuzz: no nightly toolchain; using stable with RUSTC_BOOTSTRAP=1"
    export RUSTC_BOOTSTRAP=1
fi
HOST=$(rustc "${TOOLCHAIN[@]}" -vV | sed -n 's/^host: //p')

# A CARGO_TARGET_DIR set for the main workspace must not redirect (or mix with) the fuzz build.
unset CARGO_TARGET_DIR
# Under the cache so a later run on the same machine rebuilds in seconds, not minutes; one dir per
# checkout path, because artifacts built from another checkout of the same crates were taken as
# fresh and the build failed with "multiple different versions of crate natter_protocol".
FUZZ_TARGET_DIR="${NATTER_FUZZ_TARGET_DIR:-$NATTER_CACHE/fuzz-target/$(pwd -P | sha1sum | cut -c1-12)}"
# The time-boxed run fuzzes safe Rust for panics and invariants: no sanitizer and parallel codegen
# keep the from-scratch build short. Long runs can ask for ASan: NATTER_FUZZ_SANITIZER=address.
SANITIZER="${NATTER_FUZZ_SANITIZER:-none}"
echo "fuzz: building ${TARGETS[*]} (cargo ${TOOLCHAIN[*]} fuzz, sanitizer $SANITIZER, target dir $FUZZ_TARGET_DIR)"
(cd fuzz && cargo "${TOOLCHAIN[@]}" fuzz build --sanitizer "$SANITIZER" --codegen-units 16 --target-dir "$FUZZ_TARGET_DIR")

failed=0
summaries=()
for t in "${TARGETS[@]}"; do
    bin="$FUZZ_TARGET_DIR/$HOST/release/$t"
    seeds="$ROOT/fuzz/corpus/$t"
    work="$FUZZ_TARGET_DIR/corpus/$t"
    artifacts="$ROOT/fuzz/artifacts/$t"
    log="$FUZZ_TARGET_DIR/logs/$t.log"
    [[ -x $bin ]] || { echo "fuzz: $bin was not built" >&2; exit 1; }
    [[ -d $seeds ]] || { echo "fuzz: no seed corpus $seeds" >&2; exit 1; }
    mkdir -p "$work" "$artifacts" "$(dirname "$log")"
    echo "fuzz: running $t for ${SECONDS_PER_TARGET}s (log: ${log#"$ROOT"/})"
    start=$(date +%s)
    set +e
    # The work dir comes first: libFuzzer writes new inputs there, never into the committed seeds.
    "$bin" "$work" "$seeds" \
        -max_total_time="$SECONDS_PER_TARGET" -max_len="$MAX_LEN" -rss_limit_mb="$RSS_LIMIT_MB" \
        -timeout="$UNIT_TIMEOUT_S" -artifact_prefix="$artifacts/" -print_final_stats=1 >"$log" 2>&1
    rc=$?
    set -e
    elapsed=$(($(date +%s) - start))
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    corpus=$(find "$work" -type f | wc -l)
    if [[ $rc -eq 0 ]]; then
        summaries+=("fuzz $t: ${runs:-?} runs in ${elapsed}s (${rate:-?}/s), corpus $corpus, no crash")
    else
        failed=1
        crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
        summaries+=("fuzz $t: FAILED (exit $rc) after ${elapsed}s; input: ${crash:-none written, see $log}")
        echo "fuzz: $t failed; last lines of its log:" >&2
        tail -n 40 "$log" >&2
    fi
done

printf '%s\n' "${summaries[@]}"
if [[ $failed -ne 0 ]]; then
    echo "fuzz: a target crashed; reproduce with $FUZZ_TARGET_DIR/$HOST/release/<target> <input>" >&2
    exit 1
fi
