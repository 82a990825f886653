#!/usr/bin/env bash
# Checks the committed clients:
#  1. drift: regenerates them into a temp dir with the pinned generators and compares with
#     what is committed (diff -r); any difference fails (run clients/generate.sh and commit);
#  2. builds the TypeScript and Rust smoke tests (the Rust one offline, from the lock file);
#  3. starts the real server (target/debug/backup-master, built if stale; or $BM_SERVER_BIN)
#     on a free loopback port with a temp config and fake homes (testserver.py) and runs the
#     three smoke tests against it: list components, start a backup, wait for it, check it
#     succeeded, read its report. Ends with "N passed, M failed".
# Needs clients/install-tools.sh to have run. Exits non-zero on any failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)

step() { printf '\n== %s\n' "$*"; }

step "drift: regenerate into a temp dir and compare"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$here/generate.sh" "$tmp" >/dev/null
drift=0
for p in python/backup-master-client typescript/src/schema.ts rust/backup-master-client; do
  diff -r --exclude=__pycache__ --exclude=.ruff_cache --exclude=target \
    "$tmp/$p" "$here/$p" >"$tmp/diff" 2>&1 || {
    drift=1
    echo "clients/$p differs from what the pinned generator makes of openapi/openapi.json:"
    head -n 40 "$tmp/diff"
  }
done
[ "$drift" = 0 ] || { echo "drift: run clients/generate.sh and commit the result" >&2; exit 1; }
echo "no drift"

step "build the TypeScript client and its smoke test"
(cd "$here/typescript" && ./node_modules/.bin/tsc -p .)

step "build the Rust client and its smoke test (offline)"
cargo build --offline --locked --quiet --manifest-path "$here/rust/Cargo.toml" \
  --target-dir "$here/rust/target"

if [ -z "${BM_SERVER_BIN:-}" ]; then # BM_SERVER_BIN: use that server binary, build none
  step "build the server"
  (cd "$root" && cargo build --locked --quiet --bin backup-master)
fi

step "smoke tests against a live server"
# shellcheck disable=SC2016 # expanded by the inner shell, with the server's BM_URL/BM_TOKEN
python3 "$here/testserver.py" -- bash -uo pipefail -c '
  here=$1 passed=0 failed=0
  run() { echo "-- $1"; shift; if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi; }
  run python "$here/.tools/py-client/bin/python" "$here/python/smoke_test.py"
  run typescript node "$here/typescript/dist/smoke/smoke.js"
  run rust "$here/rust/target/debug/backup-master-client-smoke"
  echo "$passed passed, $failed failed"
  [ "$failed" = 0 ]
' smoke "$here"
