#!/usr/bin/env bash
# Regenerates the three clients from openapi/openapi.json with the pinned generators
# (versions.sh; install them with install-tools.sh) into OUT_DIR (default: clients/ itself):
#   OUT_DIR/python/backup-master-client/   openapi-python-client
#   OUT_DIR/typescript/src/schema.ts       openapi-typescript (the client is openapi-fetch)
#   OUT_DIR/rust/backup-master-client/     openapi-generator -g rust (reqwest + rustls)
# Only these paths are written (each replaced whole); the hand-written READMEs, smoke tests and
# build files around them are not. The output has no timestamps: the same spec and pins give
# the same bytes, which is what the drift check (smoke.sh) relies on.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=versions.sh
. "$here/versions.sh"
tools=$here/.tools
spec=$root/openapi/openapi.json
out=${1:-$here}
mkdir -p "$out"
out=$(cd "$out" && pwd)

fail() { echo "generate.sh: $*" >&2; exit 1; }

# The installed generators must be exactly the pinned ones.
[ -x "$tools/gen/bin/python" ] || fail "no $tools/gen: run clients/install-tools.sh"
have=$("$tools/gen/bin/python" -c 'import importlib.metadata as m
print(" ".join(m.version(p) for p in ("openapi-python-client", "ruff", "openapi-generator-cli")))')
want="$OPENAPI_PYTHON_CLIENT_VERSION $RUFF_VERSION $OPENAPI_GENERATOR_CLI_VERSION"
[ "$have" = "$want" ] || fail "installed generators $have, pinned $want: run clients/install-tools.sh"
ots=$here/typescript/node_modules/.bin/openapi-typescript
[ -x "$ots" ] || fail "no openapi-typescript: run clients/install-tools.sh"
have=$("$ots" --version)
[ "$have" = "v$OPENAPI_TYPESCRIPT_VERSION" ] || fail "openapi-typescript $have, pinned $OPENAPI_TYPESCRIPT_VERSION"

# Python
mkdir -p "$out/python"
rm -rf "$out/python/backup-master-client"
(
  cd "$out/python"
  PATH="$tools/gen/bin:$PATH" RUFF_NO_CACHE=true \
    openapi-python-client generate --path "$spec" --meta uv \
    --output-path backup-master-client --fail-on-warning
) >/dev/null

# TypeScript
mkdir -p "$out/typescript/src"
"$ots" "$spec" --output "$out/typescript/src/schema.ts" >/dev/null

# Rust
rs=$out/rust/backup-master-client
rm -rf "$rs"
mkdir -p "$rs"
# CI files for the generator's own template project: not wanted here.
printf '%s\n' '.travis.yml' 'git_push.sh' >"$rs/.openapi-generator-ignore"
"$tools/gen/bin/openapi-generator-cli" generate --input-spec "$spec" --generator-name rust \
  --output "$rs" \
  --additional-properties=packageName=backup-master-client,packageVersion=0.1.0,library=reqwest,supportAsync=true,reqwestDefaultFeatures=rustls \
  >"$out/rust/.generate.log" 2>&1 || { cat "$out/rust/.generate.log" >&2; fail "openapi-generator failed"; }
rm -f "$out/rust/.generate.log"

echo "generated into $out: python/backup-master-client typescript/src/schema.ts rust/backup-master-client"
