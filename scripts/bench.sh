#!/usr/bin/env bash
# Natter's benchmarks (issue 10): one Markdown table on stdout, JSON in target/bench/results.json
# (or --json PATH). Every figure stands beside its baseline measured in the same run: a bare
# tokio-tungstenite echo server started by the program (docs/performance.md).
#
#   scripts/bench.sh            full run: release build, 2,000 logins, 100,000 sessions, 10,000-
#                               client storm, size of every library build (several release builds;
#                               ~20-30 min on 2 cores, most of it compiling)
#   scripts/bench.sh --quick    seconds, small N, the debug build: proves the program still runs
#                               and prints every row (part of scripts/test.sh), not that numbers are good
#   --json PATH                 where the JSON goes
#   --no-size                   skip the size builds (section 6) in a full run
#   --only 1,6,…                run only these sections of the full run (and only the builds they
#                               need: the size builds only with 6, the events drivers only with 5)
#   --build-only                build what the full run needs, measure nothing
# Section 5's events rows run bench/node/events.js and bench/kotlin/Events.kt (node, java 17+;
# kotlinc and JNA installed as scripts/test-kotlin.sh does), never skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
export NATTER_CACHE="${NATTER_CACHE:-$HOME/.cache/natter}"
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
quick=0
size=1
build_only=0
only_list=""
json="$target_dir/bench/results.json"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --no-size) size=0 ;;
    --build-only) build_only=1 ;;
    --only) only_list="$2"; shift ;;
    --json) json="$2"; shift ;;
    *) echo "usage: scripts/bench.sh [--quick] [--no-size] [--only 1,2,…] [--build-only] [--json PATH]" >&2; exit 2 ;;
  esac
  shift
done
[ -z "$only_list" ] || [ "$quick" = 0 ] || { echo "error: --only is for the full run" >&2; exit 2; }
# Whether the run measures section $1 (all of them without --only).
wants() { [ -z "$only_list" ] || [[ ",$only_list," == *",$1,"* ]]; }
wants 6 || size=0
mkdir -p "$(dirname "$json")" "$target_dir/bench"
# llvm-strip reads every target's objects (section 6); scripts/check-targets.sh installs the same.
if ! command -v llvm-strip >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y --no-install-recommends llvm >/dev/null || { apt-get update >/dev/null && apt-get install -y --no-install-recommends llvm >/dev/null; }
  fi
  command -v llvm-strip >/dev/null || { echo "error: llvm-strip is needed (apt-get install llvm)" >&2; exit 1; }
fi

# Section 8 starts its own redis-server (the cluster's directory).
bash scripts/install-redis.sh >/dev/null
artifacts=()

# Item 5's events drivers: the Node addon and the Kotlin listener (compiled like
# scripts/test-kotlin.sh does: cached kotlinc, JNA, the generated bindings). Installs what is
# missing the same way; never skips. Sets the driver arguments for natter-bench.
events_drivers() { # profile (debug|release)
  local profile="$1"
  command -v node >/dev/null || { echo "error: node (>= 20) is required for the events row" >&2; exit 1; }
  command -v java >/dev/null || { echo "error: java (>= 17) is required for the events row" >&2; exit 1; }
  local release=()
  [ "$profile" = debug ] || release=(--release)
  env NATTER_CARGO_LOCKED=1 node scripts/build-node-addon.js "${release[@]}" >&2
  local kver=2.4.20 kdir="$NATTER_CACHE/kotlin"
  local kotlinc="$kdir/node_modules/kotlin-compiler/bin/kotlinc" klib="$kdir/node_modules/kotlin-compiler/lib"
  local jna=/usr/share/java/jna.jar
  if [ ! -x "$kotlinc" ]; then
    mkdir -p "$kdir"
    npm install --silent --no-audit --no-fund --prefix "$kdir" "kotlin-compiler@$kver" >&2
  fi
  if [ ! -f "$jna" ]; then
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq libjna-java >/dev/null
  fi
  # The cdylib JNA loads: the quick run's build already made the debug one (building `-p natter`
  # alone would unify features differently and rebuild it).
  [ "$profile" = debug ] || cargo build --locked --release -p natter --lib >&2
  local sources=(bindings/kotlin/dev/natter/natter.kt bench/kotlin/Events.kt)
  local hash jar cp
  hash="$(cat "${sources[@]}" | sha256sum | cut -c1-16)"
  mkdir -p "$NATTER_CACHE/kotlin-build"
  jar="$NATTER_CACHE/kotlin-build/bench-events-$hash-$kver.jar"
  cp="$jna:$klib/kotlinx-coroutines-core-jvm.jar"
  if [ ! -s "$jar" ]; then
    "$kotlinc" -jvm-target 17 -nowarn -cp "$cp" -d "$jar.tmp.jar" "${sources[@]}" >&2
    mv "$jar.tmp.jar" "$jar"
  fi
  drivers=(
    --events-driver "a Kotlin listener (JVM)=java -Djna.library.path=$target_dir/$profile -cp $jar:$cp:$klib/kotlin-stdlib.jar dev.natter.bench.EventsKt"
    --events-driver "JS handlers (Node)=node bench/node/events.js"
  )
}
drivers=()
if [ "$quick" = 1 ]; then
  # The debug build the test command already made: the rows exist, the sizes mean little.
  cargo build --locked -p natter -p natter-bench
  bin="$target_dir/debug/natter-bench"
  events_drivers debug
  artifacts+=(--artifact "x86_64-linux cdylib (debug)=$target_dir/debug/libnatter.so")
  set +e
  out="$("$bin" --quick --json "$json" "${artifacts[@]}" "${drivers[@]}")"
  rc=$?
  set -e
  printf '%s\n' "$out"
  [ "$rc" = 0 ] || { echo "error: natter-bench --quick exited with $rc" >&2; exit 1; }
  # Every section printed its rows, and the JSON holds as many rows as the table.
  for section in 1 2 3 4 5 6 7 8; do
    grep -q "^| $section | " <<<"$out" || { echo "error: no row for section $section" >&2; exit 1; }
  done
  table_rows="$(grep -c '^| [0-9] | ' <<<"$out")"
  json_rows="$(grep -c '"section":' "$json")"
  [ "$table_rows" = "$json_rows" ] || { echo "error: table has $table_rows rows, $json \
has $json_rows" >&2; exit 1; }
  for row in "events/s into a Kotlin listener" "events/s into JS handlers"; do
    grep -q "^| 5 | $row" <<<"$out" || { echo "error: no row \"$row\"" >&2; exit 1; }
  done
  if grep -Eq 'NaN|inf ' <<<"$out"; then echo "error: a figure is not a number" >&2; exit 1; fi
  echo "bench --quick: $table_rows rows, all 8 sections"
  exit 0
fi

if [ "$size" = 1 ]; then
  # The shipped profile ([profile.release]: lto, codegen-units 1, opt-level s), the library alone:
  # built together with natter-bench its dependencies would get the server's extra features.
  # Each library is built as its one crate type (`cargo rustc --crate-type`), as the Android and
  # iOS scripts build them: a `cargo build` makes the rlib in the same rustc run, which keeps
  # every public Rust item alive through LTO and adds ~25 % to the cdylib (measured below, the
  # first row). Copied aside, because the next build replaces target/release/libnatter.*.
  shipped="$target_dir/bench-size/opt-s"
  mkdir -p "$shipped"
  cargo build --locked --release -p natter --lib
  cp "$target_dir/release/libnatter.so" "$shipped/libnatter-with-rlib.so"
  artifacts+=(--artifact "x86_64-linux cdylib, opt s, cargo build (with the rlib)=$shipped/libnatter-with-rlib.so")
  cargo rustc --locked --release -p natter --lib --crate-type cdylib
  cp "$target_dir/release/libnatter.so" "$shipped/"
  artifacts+=(--artifact "x86_64-linux cdylib, opt s=$shipped/libnatter.so")
  cargo rustc --locked --release -p natter --lib --crate-type staticlib
  cp "$target_dir/release/libnatter.a" "$shipped/"
  artifacts+=(--artifact "x86_64-linux staticlib, opt s=$shipped/libnatter.a")
  # Variants in their own target dirs, so they never invalidate the main build. (The linker
  # keeps symbols, [profile.release] strip = "debuginfo"; natter-bench strips copies.)
  variant() { # name, env assignments...
    local name="$1"; shift
    env CARGO_TARGET_DIR="$target_dir/bench-size/$name" CARGO_INCREMENTAL=0 "$@" \
      cargo rustc --locked --release -p natter --lib --crate-type cdylib >&2
  }
  variant opt-z CARGO_PROFILE_RELEASE_OPT_LEVEL=z
  artifacts+=(--artifact "x86_64-linux cdylib, opt z=$target_dir/bench-size/opt-z/release/libnatter.so")
  variant abort CARGO_PROFILE_RELEASE_PANIC=abort
  artifacts+=(--artifact "x86_64-linux cdylib, opt s + panic=abort=$target_dir/bench-size/abort/release/libnatter.so")

  # Mobile: the staticlibs (what an iOS app links), built with the Debian clang recipe of scripts/check-targets.sh for ring's C.
  bash scripts/check-targets.sh >&2 # installs the targets, clang and llvm when missing
  declare -A clang_triple=(
    [aarch64-linux-android]=aarch64-linux-android24
    [armv7-linux-androideabi]=armv7a-linux-androideabi24
    [aarch64-apple-ios]=arm64-apple-ios13.0
  )
  mobile_dir="$target_dir/bench-size/mobile"
  export SDKROOT="$mobile_dir/no-ios-sdk"
  mkdir -p "$SDKROOT/usr/include"
  # The one SDK header ring reads (as scripts/check-targets.sh writes it): an iPhone device build.
  printf '#define TARGET_OS_MAC 1\n#define TARGET_OS_OSX 0\n#define TARGET_OS_IPHONE 1\n#define TARGET_OS_IOS 1\n#define TARGET_OS_SIMULATOR 0\n' \
    >"$SDKROOT/usr/include/TargetConditionals.h"
  mobile_build() { # target, crate type, env assignments...
    local t="$1" crate_type="$2"; shift 2
    local v="${t//-/_}"
    local cflags="--target=${clang_triple[$t]} -ffreestanding -nostdlibinc -DRING_CORE_NOSTDLIBINC=1"
    [[ "$t" != *apple* ]] || cflags="$cflags -isystem $SDKROOT/usr/include"
    env CARGO_TARGET_DIR="$mobile_dir" CARGO_INCREMENTAL=0 "CC_$v=clang" "AR_$v=llvm-ar" "CFLAGS_$v=$cflags" "$@" \
      cargo rustc --locked --release -p natter --lib --target "$t" --crate-type "$crate_type" >&2
  }
  for t in aarch64-linux-android armv7-linux-androideabi aarch64-apple-ios; do
    mobile_build "$t" staticlib
    artifacts+=(--artifact "$t staticlib, opt s=$mobile_dir/$t/release/libnatter.a")
  done
  # The Android cdylibs, which is what an APK carries, linked without the NDK: clang drives lld
  # with no crt objects and empty stand-ins for libc, libm, libdl, liblog and libunwind (a shared
  # object may leave their symbols for the device's loader). The NDK's link adds its static
  # libunwind and the crt objects, a few tens of KB, so these rows are a floor, not the APK's size.
  if ! command -v ld.lld >/dev/null; then
    [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || { echo "error: lld is needed (apt-get install lld)" >&2; exit 1; }
    apt-get install -y --no-install-recommends lld >/dev/null || { apt-get update >/dev/null && apt-get install -y --no-install-recommends lld >/dev/null; }
  fi
  standin="$mobile_dir/ndk-standin"
  mkdir -p "$standin/lib"
  for l in c m dl log unwind gcc gcc_s; do llvm-ar rcs "$standin/lib/lib$l.a"; done
  for t in aarch64-linux-android armv7-linux-androideabi; do
    linker="$standin/ld-$t"
    printf '#!/bin/sh\nexec clang --target=%s -fuse-ld=lld -nostdlib -L%s "$@"\n' \
      "${clang_triple[$t]}" "$standin/lib" >"$linker"
    chmod +x "$linker"
    v="${t//-/_}"
    mobile_build "$t" cdylib "CARGO_TARGET_${v^^}_LINKER=$linker"
    artifacts+=(--artifact "$t cdylib, opt s, lld without the NDK (no libunwind)=$mobile_dir/$t/release/libnatter.so")
  done

  # The biggest crates in the shipped cdylib (cargo-bloat, installed into the cache when missing).
  bloat="$NATTER_CACHE/cargo-bloat/bin/cargo-bloat"
  [ -x "$bloat" ] || cargo install --locked --root "$NATTER_CACHE/cargo-bloat" cargo-bloat >&2
  PATH="$NATTER_CACHE/cargo-bloat/bin:$PATH" cargo bloat --release -p natter --lib --crate-type cdylib --crates -n 15 \
    >"$target_dir/bench/bloat-crates.txt"
fi
cargo build --locked --release -p natter-bench
bin="$target_dir/release/natter-bench"
! wants 5 || events_drivers release
[ "$build_only" = 0 ] || exit 0
only=()
if [ -n "$only_list" ]; then
  only=(--only "$only_list")
elif [ "$size" = 0 ]; then
  only=(--only 1,2,3,4,5,7,8)
fi
"$bin" --json "$json" ${only[@]+"${only[@]}"} "${artifacts[@]}" "${drivers[@]}"
[ "$size" = 0 ] || echo "largest crates (cargo bloat): $target_dir/bench/bloat-crates.txt" >&2
