#!/usr/bin/env bash
# Fuzzes the live server with schemathesis (pinned in versions.sh; install-tools.sh installs it)
# against its own /api-docs/openapi.json with every check on: no 5xx, every status code, content
# type, header and body as documented, bad input refused, good input accepted, auth not ignored.
# The server runs from testserver.py --sandbox on a free loopback port with fake homes in a temp
# dir, with an admin token; destructive operations (settings, restores, imports) hit only those.
# schemathesis.toml: which documented refusals count as answers (read it: no check is off).
# Bounded: SCHEMATHESIS_MAX_EXAMPLES (default 100) cases per operation and phase.
# BM_SERVER_LOG=FILE keeps the server's log. Exits non-zero on any failure. The server binary: $BM_SERVER_BIN, else target/debug (built).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=versions.sh
. "$here/versions.sh"
st=$here/.tools/schemathesis/bin/st
[ -x "$st" ] || { echo "schemathesis.sh: run clients/install-tools.sh first" >&2; exit 2; }
have=$("$st" --version | awk '{print $NF}')
[ "$have" = "$SCHEMATHESIS_VERSION" ] || {
  echo "schemathesis.sh: schemathesis $have installed, $SCHEMATHESIS_VERSION pinned: run clients/install-tools.sh" >&2
  exit 2
}
if [ -z "${BM_SERVER_BIN:-}" ]; then
  (cd "$root" && cargo build --locked --quiet --bin backup-master)
fi

# schemathesis keeps a cache and reports in its working directory: a temp one.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
# One worker: with two, schemathesis' generator threads parse Python sources concurrently and
# CPython 3.11's ast module can fail with "AST constructor recursion depth mismatch" (a
# Runtime Error of the tool, not a finding), seen once in CI.
# shellcheck disable=SC2016 # expanded by the inner shell, with the server's BM_URL/BM_TOKEN
python3 "$here/testserver.py" --sandbox --log-tail 20 ${BM_SERVER_LOG:+--keep-log "$BM_SERVER_LOG"} -- bash -euo pipefail -c '
  "$1" --no-color --config-file "$4" run "$BM_URL/api-docs/openapi.json" \
    --checks all \
    --header "Authorization: Bearer $BM_TOKEN" \
    --max-examples "$2" \
    --seed "$3" \
    --workers 1 \
    --request-timeout 30
' schemathesis "$st" "${SCHEMATHESIS_MAX_EXAMPLES:-100}" "${SCHEMATHESIS_SEED:-20261126}" "$here/schemathesis.toml"
