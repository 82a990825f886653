#!/usr/bin/env bash
# Installs the pinned tools (versions.sh) that generate and test the clients, all inside the
# repository: Python venvs in clients/.tools/ (gitignored), the TypeScript client's npm packages
# in clients/typescript/node_modules and the OpenAPI linters in clients/lint/node_modules (each
# from its committed package-lock.json), the Rust client's
# crates in cargo's cache (from its committed Cargo.lock). Nothing is installed globally, except
# a Java runtime from apt when none is there (openapi-generator runs on it).
# Safe to re-run; with everything in place it takes a few seconds.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.sh
. "$here/versions.sh"
tools=$here/.tools
mkdir -p "$tools"
pip_q=(--quiet --disable-pip-version-check --no-input)

venv() { # venv DIR: creates a venv unless it exists
  [ -x "$1/bin/python" ] || python3 -m venv "$1"
}

if ! command -v java >/dev/null; then
  apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless
fi

# Generators: openapi-python-client (+ the ruff it formats with) and openapi-generator (the
# PyPI wheel bundles the jar, so nothing is downloaded at run time).
venv "$tools/gen"
"$tools/gen/bin/pip" install "${pip_q[@]}" \
  "openapi-python-client==$OPENAPI_PYTHON_CLIENT_VERSION" \
  "ruff==$RUFF_VERSION" \
  "openapi-generator-cli==$OPENAPI_GENERATOR_CLI_VERSION"

# The Python client, installed (editable) as a user would, for its smoke test.
venv "$tools/py-client"
"$tools/py-client/bin/pip" install "${pip_q[@]}" -e "$here/python/backup-master-client"

# schemathesis, in its own venv (its dependencies must not bend the generators').
venv "$tools/schemathesis"
"$tools/schemathesis/bin/pip" install "${pip_q[@]}" "schemathesis==$SCHEMATHESIS_VERSION"

# TypeScript: openapi-fetch (runtime), openapi-typescript and typescript (build), exactly as locked.
npm ci --prefix "$here/typescript" --no-fund --no-audit --loglevel=error

# The OpenAPI linters of lint.sh (@redocly/cli, @stoplight/spectral-cli), exactly as locked.
npm ci --prefix "$here/lint" --no-fund --no-audit --loglevel=error

# Rust: the client's and its smoke test's crates, exactly as locked; builds then work offline.
cargo fetch --locked --manifest-path "$here/rust/Cargo.toml" --quiet
