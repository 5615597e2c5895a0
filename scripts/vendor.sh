#!/usr/bin/env bash
# Refresh the vendored front-end files from the npm registry (`make vendor`).
#
# The output is committed, so `make run` never needs npm or the internet. Each file carries its
# version in its name, with the package's licence next to it. Safe to run again: files already
# up to date are left alone, and older versions of the same files are removed.
set -euo pipefail

HTMX_VERSION=2.0.11              # htmx.org: stay on 2.0.x
BARCODE_DETECTOR_VERSION=3.2.2   # barcode-detector (ponyfill of the BarcodeDetector API)
ZXING_WASM_VERSION=3.1.3         # zxing-wasm: must equal barcode-detector's own dependency
AXE_CORE_VERSION=4.14.1          # axe-core: tests only
ESBUILD_VERSION=0.28.2           # build tool only (minifies the ponyfill into one ES module)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATIC_VENDOR="$ROOT/static/vendor"
TESTS_VENDOR="$ROOT/tests/vendor"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false

say() { printf 'vendor: %s\n' "$*"; }

# fetch NAME VERSION VAR: npm pack + extract; sets VAR to the extracted package's folder
fetch() {
  local name="$1" version="$2" var="$3" dir="$WORK/pkg/$1"
  mkdir -p "$dir"
  local tgz
  tgz="$(cd "$dir" && npm pack --silent "$name@$version" 2>/dev/null | tail -n 1)"
  tar -xzf "$dir/$tgz" -C "$dir"
  local got
  got="$(node -p 'require(process.argv[1]).version' "$dir/package/package.json")"
  [[ "$got" == "$version" ]] || { echo "vendor: $name: wanted $version, got $got" >&2; exit 1; }
  say "fetched $name@$version"
  printf -v "$var" '%s' "$dir/package"
}

# place SRC DEST: copy unless DEST already has the same bytes
place() {
  local src="$1" dest="$2"
  mkdir -p "$(dirname "$dest")"
  if [[ -f "$dest" ]] && cmp -s "$src" "$dest"; then
    say "unchanged ${dest#"$ROOT"/}"
  else
    cp "$src" "$dest"
    say "wrote     ${dest#"$ROOT"/}"
  fi
}

# prune DIR GLOB KEEP...: remove files matching GLOB that are not among KEEP (older versions)
prune() {
  local dir="$1" glob="$2"; shift 2
  local f keep
  shopt -s nullglob
  for f in "$dir"/$glob; do
    keep=0
    for k in "$@"; do [[ "$(basename "$f")" == "$k" ]] && keep=1; done
    if [[ $keep == 0 ]]; then rm -f "$f"; say "removed   ${f#"$ROOT"/}"; fi
  done
  shopt -u nullglob
}

sizes() {
  local f
  for f in "$@"; do
    printf 'vendor:   %-52s %9d bytes, %8d gzipped\n' "${f#"$ROOT"/}" "$(stat -c %s "$f")" "$(gzip -9c "$f" | wc -c)"
  done
}

# ---- htmx ---------------------------------------------------------------------------------------
fetch htmx.org "$HTMX_VERSION" HTMX
place "$HTMX/dist/htmx.min.js" "$STATIC_VENDOR/htmx-$HTMX_VERSION.min.js"
place "$HTMX/LICENSE" "$STATIC_VENDOR/htmx-$HTMX_VERSION.LICENSE.txt"
prune "$STATIC_VENDOR" 'htmx-*' "htmx-$HTMX_VERSION.min.js" "htmx-$HTMX_VERSION.LICENSE.txt"

# ---- barcode-detector ponyfill + zxing reader wasm ------------------------------------------------
fetch barcode-detector "$BARCODE_DETECTOR_VERSION" BD
fetch zxing-wasm "$ZXING_WASM_VERSION" ZX
dep="$(node -p 'require(process.argv[1]).dependencies["zxing-wasm"]' "$BD/package.json")"
[[ "$dep" == "$ZXING_WASM_VERSION" ]] || {
  echo "vendor: barcode-detector@$BARCODE_DETECTOR_VERSION depends on zxing-wasm $dep, not $ZXING_WASM_VERSION" >&2
  exit 1
}

# The package's ES build of the ponyfill is already self-contained (zxing-wasm's JS glue is
# inlined, no bare imports) but unminified and split in two files: esbuild joins and minifies it
# into one ES module that a page imports by URL, with no bundler and no import map.
mkdir -p "$WORK/esbuild"
(cd "$WORK/esbuild" && npm install --silent --no-save --no-package-lock "esbuild@$ESBUILD_VERSION" >/dev/null)
say "fetched esbuild@$ESBUILD_VERSION (build only)"
PONYFILL="barcode-detector-$BARCODE_DETECTOR_VERSION.ponyfill.min.js"
"$WORK/esbuild/node_modules/.bin/esbuild" "$BD/dist/es/ponyfill.js" \
  --bundle --format=esm --minify --target=es2020 --legal-comments=none --log-level=warning \
  --outfile="$WORK/$PONYFILL"
if grep -q 'import\.meta\|new Function\|eval(' "$WORK/$PONYFILL"; then
  echo "vendor: the ponyfill bundle uses import.meta/eval; check it against the CSP" >&2
  exit 1
fi
place "$WORK/$PONYFILL" "$STATIC_VENDOR/$PONYFILL"
place "$BD/LICENSE" "$STATIC_VENDOR/barcode-detector-$BARCODE_DETECTOR_VERSION.LICENSE.txt"

# The bundle carries the sha256 of the reader wasm it was built against: the wasm must match it.
WASM="zxing_reader-$ZXING_WASM_VERSION.wasm"
want="$(grep -o '"[0-9a-f]\{64\}"' "$WORK/$PONYFILL" | head -n 1 | tr -d '"')"
have="$(sha256sum "$ZX/dist/reader/zxing_reader.wasm" | cut -d' ' -f1)"
[[ "$want" == "$have" ]] || { echo "vendor: zxing_reader.wasm sha256 $have != $want expected by the ponyfill" >&2; exit 1; }
say "zxing_reader.wasm sha256 matches the ponyfill ($have)"
place "$ZX/dist/reader/zxing_reader.wasm" "$STATIC_VENDOR/$WASM"
place "$ZX/LICENSE" "$STATIC_VENDOR/zxing-wasm-$ZXING_WASM_VERSION.LICENSE.txt"
prune "$STATIC_VENDOR" 'barcode-detector-*' "$PONYFILL" "barcode-detector-$BARCODE_DETECTOR_VERSION.LICENSE.txt"
prune "$STATIC_VENDOR" 'zxing*' "$WASM" "zxing-wasm-$ZXING_WASM_VERSION.LICENSE.txt"

# scanner.js names the wasm file: keep it pointing at this version.
if ! grep -qF "vendor/$WASM" "$ROOT/static/js/scanner.js"; then
  echo "vendor: static/js/scanner.js does not load vendor/$WASM; update WASM_URL" >&2
  exit 1
fi
if ! grep -qF "vendor/$PONYFILL" "$ROOT/static/js/scanner.js"; then
  echo "vendor: static/js/scanner.js does not import vendor/$PONYFILL; update its import" >&2
  exit 1
fi

# ---- axe-core (accessibility checks in the browser tests only) ----------------------------------
fetch axe-core "$AXE_CORE_VERSION" AXE
place "$AXE/axe.min.js" "$TESTS_VENDOR/axe-core-$AXE_CORE_VERSION.min.js"
place "$AXE/LICENSE" "$TESTS_VENDOR/axe-core-$AXE_CORE_VERSION.LICENSE.txt"
prune "$TESTS_VENDOR" 'axe-core-*' "axe-core-$AXE_CORE_VERSION.min.js" "axe-core-$AXE_CORE_VERSION.LICENSE.txt"

say "sizes:"
sizes "$STATIC_VENDOR/htmx-$HTMX_VERSION.min.js" "$STATIC_VENDOR/$PONYFILL" "$STATIC_VENDOR/$WASM" \
  "$TESTS_VENDOR/axe-core-$AXE_CORE_VERSION.min.js"
say "done"
