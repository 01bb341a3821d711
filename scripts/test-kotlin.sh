#!/usr/bin/env bash
# Kotlin stage: the UniFFI Kotlin bindings and the React Native bridge logic, tested on the JVM
# (JUnit 5) against real natter-server processes, then the Android module compile check.
# Installs what it needs when missing (kotlinc from npm into $NATTER_CACHE/kotlin; JNA and JUnit 5
# from apt). No Gradle, no Android SDK.
set -euo pipefail
cd "$(dirname "$0")/.."
export NATTER_CACHE="${NATTER_CACHE:-$HOME/.cache/natter}"
kver=2.4.20
kdir="$NATTER_CACHE/kotlin"
kotlinc="$kdir/node_modules/kotlin-compiler/bin/kotlinc"
klib="$kdir/node_modules/kotlin-compiler/lib"
jna=/usr/share/java/jna.jar
junit=/usr/share/java/junit-platform-console-standalone.jar
started=$SECONDS
step() { printf -- '--- %s (%ss)\n' "$*" "$((SECONDS - started))"; }

# --- toolchain ----------------------------------------------------------------------------
if [ ! -x "$kotlinc" ]; then
  step "installing kotlin-compiler@$kver into $kdir"
  mkdir -p "$kdir"
  npm install --silent --no-audit --no-fund --prefix "$kdir" "kotlin-compiler@$kver"
fi
if [ ! -f "$jna" ] || [ ! -f "$junit" ] || [ ! -f /usr/share/java/junit-jupiter-api.jar ]; then
  step "installing libjna-java and junit5 (apt)"
  # Other jobs may hold the dpkg lock: wait for it instead of failing.
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq libjna-java junit5 >/dev/null
fi

# --- Rust: library, bindgen, reference server ---------------------------------------------
step "cargo build (natter cdylib, uniffi-bindgen, natter-server)"
cargo build --locked -p natter -p uniffi-bindgen -p natter-server
target="${CARGO_TARGET_DIR:-target}"
target="$(realpath "$target")"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# --- the committed bindings must match the library ----------------------------------------
step "checking bindings/ against a fresh generation"
"$target/debug/uniffi-bindgen" generate --no-format "$target/debug/libnatter.so" --language kotlin --out-dir "$tmp/kotlin" >/dev/null
"$target/debug/uniffi-bindgen" generate --no-format "$target/debug/libnatter.so" --language swift --out-dir "$tmp/swift" >/dev/null
stale=0
diff -q "$tmp/kotlin/dev/natter/natter.kt" bindings/kotlin/dev/natter/natter.kt >/dev/null || stale=1
for f in Natter.swift NatterFFI.h NatterFFI.modulemap; do
  diff -q "$tmp/swift/$f" "bindings/swift/$f" >/dev/null || stale=1
done
if [ "$stale" = 1 ]; then
  echo "error: bindings/ is stale: run scripts/gen-bindings.sh and commit the result" >&2
  exit 1
fi

# --- compile bindings + bridge + tests (cached by source hash) -----------------------------
bridge=android/src/main/java/dev/natter/reactnative/NatterBridge.kt
mapfile -t tests < <(find kotlin-tests/src -name '*.kt' | sort)
sources=(bindings/kotlin/dev/natter/natter.kt "$bridge" "${tests[@]}")
hash="$(cat "${sources[@]}" | sha256sum | cut -c1-16)"
mkdir -p "$NATTER_CACHE/kotlin-build"
jar="$NATTER_CACHE/kotlin-build/tests-$hash-$kver.jar"
junit_api=/usr/share/java/junit-jupiter-api.jar:/usr/share/java/apiguardian-api.jar:/usr/share/java/opentest4j.jar
kt_cp="$jna:$klib/kotlinx-coroutines-core-jvm.jar:$klib/kotlin-test.jar:$klib/kotlin-test-junit5.jar:$junit_api"
if [ -s "$jar" ]; then
  step "kotlinc: cached $(basename "$jar")"
else
  step "kotlinc: ${#sources[@]} files"
  "$kotlinc" -jvm-target 17 -nowarn -cp "$kt_cp" -d "$tmp/tests.jar" "${sources[@]}"
  mv "$tmp/tests.jar" "$jar"
fi

# --- run ----------------------------------------------------------------------------------
step "JUnit 5"
set +e
java -Djna.library.path="$target/debug" -Dnatter.server="$target/debug/natter-server" \
  -jar "$junit" --disable-banner --details=tree --fail-if-no-tests \
  --class-path "$jar:$kt_cp:$klib/kotlin-stdlib.jar" --scan-class-path "$jar" 2>&1 | tee "$tmp/junit.out"
status=${PIPESTATUS[0]}
set -e
if [ "$status" != 0 ]; then
  echo "error: JUnit failed (exit $status)" >&2
  exit "$status"
fi
summary="$(grep -E '^\[ +[0-9]+ tests (successful|failed|found) +\]' "$tmp/junit.out" | tr -s ' ' | tr '\n' ' ')"
step "JUnit passed: $summary"

step "Android module compile check"
scripts/compile-android-module.sh
step "kotlin stage done"
