#!/usr/bin/env bash
# Compile check of the Android React Native module without Gradle or the Android SDK:
#   1. @react-native/codegen 0.84.1 turns js/src/NativeNatter.ts into NativeNatterSpec.java
#      (package dev.natter.reactnative), exactly what the RN Gradle plugin would generate;
#   2. javac compiles that spec, then kotlinc compiles NatterModule.kt, NatterPackage.kt,
#      NatterBridge.kt and the UniFFI bindings against the real react-android 0.84.1 classes,
#      Android 15 (Robolectric's android-all), fbjni 0.7.0, proguard-annotations, jsr305 and JNA.
# Nothing is run (that needs a device); this proves the glue matches RN's and Android's APIs.
# Jars come from Maven Central into $NATTER_CACHE/android-jars. When they are neither cached nor
# downloadable the check fails (exit 1) with a message saying so: it never skips.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
cache="${NATTER_CACHE:-$HOME/.cache/natter}"
jars="$cache/android-jars"
spec_ts="${NATTER_NATIVE_SPEC:-js/src/NativeNatter.ts}"
mod="android/src/main/java/dev/natter/reactnative"
maven="${MAVEN_CENTRAL:-https://repo1.maven.org/maven2}"
kotlinc="$cache/kotlin/node_modules/kotlin-compiler/bin/kotlinc"
klib="$cache/kotlin/node_modules/kotlin-compiler/lib"

[ -f "$spec_ts" ] || { echo "error: $spec_ts (the TurboModule contract) is missing" >&2; exit 1; }
[ -x "$kotlinc" ] || npm install --silent --no-audit --no-fund --prefix "$cache/kotlin" kotlin-compiler@2.4.20
if [ ! -f "$cache/rn-codegen/node_modules/@react-native/codegen/package.json" ]; then
  npm install --silent --no-audit --no-fund --prefix "$cache/rn-codegen" @react-native/codegen@0.84.1
fi
jna=/usr/share/java/jna.jar
if [ ! -f "$jna" ]; then
  # Other jobs may hold the dpkg lock: wait for it instead of failing.
  apt-get -o DPkg::Lock::Timeout=600 update -qq && apt-get -o DPkg::Lock::Timeout=600 install -y -qq libjna-java >/dev/null
fi

# --- jars from Maven Central --------------------------------------------------------------
mkdir -p "$jars"
fetch() { # fetch <maven path> <file name>
  local dest="$jars/$2"
  [ -s "$dest" ] && return 0
  if ! curl -fsSL --retry 2 --max-time 600 -o "$dest.part" "$maven/$1"; then
    echo "error: cannot download $maven/$1 (and $jars/$2 is not cached); set MAVEN_CENTRAL to a reachable mirror" >&2
    exit 1
  fi
  mv "$dest.part" "$dest"
}
aar_classes() { # aar_classes <aar> <classes jar>
  [ -s "$jars/$2" ] || unzip -p "$jars/$1" classes.jar >"$jars/$2"
}
need=(
  "com/facebook/react/react-android/0.84.1/react-android-0.84.1-release.aar react-android-0.84.1.aar"
  "org/robolectric/android-all/15-robolectric-14663667-2/android-all-15-robolectric-14663667-2.jar android-all-15-robolectric-14663667-2.jar"
  "com/facebook/fbjni/fbjni/0.7.0/fbjni-0.7.0.aar fbjni-0.7.0.aar"
  "com/facebook/yoga/proguard-annotations/1.19.0/proguard-annotations-1.19.0.jar proguard-annotations-1.19.0.jar"
  "com/google/code/findbugs/jsr305/3.0.2/jsr305-3.0.2.jar jsr305-3.0.2.jar"
)
for entry in "${need[@]}"; do
  read -r path name <<<"$entry"
  fetch "$path" "$name"
done
aar_classes react-android-0.84.1.aar react-android-0.84.1-classes.jar
aar_classes fbjni-0.7.0.aar fbjni-0.7.0-classes.jar

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# --- 1. codegen ---------------------------------------------------------------------------
NODE_PATH="$cache/rn-codegen/node_modules" node - "$(realpath "$spec_ts")" "$tmp/gen" <<'JS'
const [spec, out] = process.argv.slice(2);
const { TypeScriptParser } = require('@react-native/codegen/lib/parsers/typescript/parser');
const RNCodegen = require('@react-native/codegen/lib/generators/RNCodegen');
const schema = new TypeScriptParser().parseFile(spec);
const ok = RNCodegen.generate(
  { libraryName: 'NatterSpec', schema, outputDirectory: out, packageName: 'dev.natter.reactnative' },
  { generators: ['modulesAndroid'] },
);
if (!ok) { console.error('codegen failed'); process.exit(1); }
JS
spec_java="$(find "$tmp/gen" -name NativeNatterSpec.java)"
[ -n "$spec_java" ] || { echo "error: codegen produced no NativeNatterSpec.java" >&2; exit 1; }
echo "codegen: $(realpath --relative-to="$tmp/gen" "$spec_java") from $spec_ts"

# --- 2. compile ---------------------------------------------------------------------------
cp_android="$jars/android-all-15-robolectric-14663667-2.jar:$jars/react-android-0.84.1-classes.jar:$jars/fbjni-0.7.0-classes.jar:$jars/proguard-annotations-1.19.0.jar:$jars/jsr305-3.0.2.jar"
mkdir -p "$tmp/spec-classes"
javac -nowarn -proc:none --release 17 -cp "$cp_android" -d "$tmp/spec-classes" "$spec_java"
echo "javac: NativeNatterSpec.java OK"
"$kotlinc" -jvm-target 17 -nowarn \
  -cp "$tmp/spec-classes:$cp_android:$jna:$klib/kotlinx-coroutines-core-jvm.jar" \
  -d "$tmp/module.jar" \
  "$mod/NatterModule.kt" "$mod/NatterPackage.kt" "$mod/NatterBridge.kt" bindings/kotlin/dev/natter/natter.kt
echo "kotlinc: NatterModule.kt, NatterPackage.kt, NatterBridge.kt, natter.kt OK (react-android 0.84.1, android-all 15)"
