#!/usr/bin/env bash
# Lints both OpenAPI documents (openapi/openapi.json, the master's; openapi/agent-openapi.json,
# the agent's) with two independent linters, pinned in lint/package.json (installed by
# install-tools.sh): @redocly/cli with its `recommended` ruleset and @stoplight/spectral-cli
# with `spectral:oas`. Any error or warning of either fails: a new route lands described, with
# examples, lint-clean. Each finding is printed on one line naming the document, the
# operation (METHOD /path), the rule and the message. Prints "N passed, M failed" at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
bin=$here/lint/node_modules/.bin
[ -x "$bin/redocly" ] && [ -x "$bin/spectral" ] || {
  echo "lint.sh: no linters in clients/lint/node_modules: run clients/install-tools.sh" >&2
  exit 2
}
# No telemetry, no update check: the linters only read the local files.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_UPDATE_NOTIFIER=1
# shellcheck source=versions.sh
. "$here/versions.sh"
have="$("$bin/redocly" --version 2>/dev/null | tail -n 1) $("$bin/spectral" --version 2>/dev/null | tail -n 1)"
[ "$have" = "$REDOCLY_CLI_VERSION $SPECTRAL_CLI_VERSION" ] || {
  echo "lint.sh: installed linters $have, pinned $REDOCLY_CLI_VERSION $SPECTRAL_CLI_VERSION: run clients/install-tools.sh" >&2
  exit 2
}

passed=0 failed=0
check() { # check TOOL DOC: runs TOOL on DOC and reports each finding
  local tool=$1 doc=$2 out rc=0
  out=$(mktemp)
  case $tool in
    redocly) (cd "$root" && "$bin/redocly" lint --config "$here/lint/redocly.yaml" --format=json "$doc") >"$out" 2>/dev/null || true ;;
    spectral) (cd "$root" && "$bin/spectral" lint --ruleset "$here/lint/spectral.yaml" --format json --fail-severity=hint "$doc") >"$out" 2>/dev/null || true ;;
  esac
  python3 "$here/lint/report.py" "$tool" "$doc" <"$out" || rc=$?
  rm -f "$out"
  if [ "$rc" = 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
}

for doc in openapi/openapi.json openapi/agent-openapi.json; do
  check redocly "$doc"
  check spectral "$doc"
done
echo "lint: $passed passed, $failed failed"
[ "$failed" = 0 ]
