# Pinned versions of every tool that generates or checks the clients. Sourced by
# install-tools.sh (which installs exactly these), generate.sh (which refuses to run with any
# other version installed) and schemathesis.sh. Change a pin here, run install-tools.sh and
# generate.sh, and commit the regenerated clients together with the pin.

# PyPI
OPENAPI_PYTHON_CLIENT_VERSION=0.29.1   # Python client
RUFF_VERSION=0.17.6                    # openapi-python-client formats its output with ruff
OPENAPI_GENERATOR_CLI_VERSION=7.26.0   # Rust client (`-g rust`); the wheel bundles the jar, runs on Java 17
SCHEMATHESIS_VERSION=4.32.5            # API fuzzing / conformance (schemathesis.sh)

# npm (also exact in typescript/package.json and its package-lock.json)
OPENAPI_TYPESCRIPT_VERSION=7.13.0      # TypeScript types (`paths`, `components`)
OPENAPI_FETCH_VERSION=0.17.0           # the TypeScript client's runtime
TYPESCRIPT_VERSION=5.9.3               # openapi-typescript 7 needs typescript 5 (peer ^5.x)

# npm (also exact in lint/package.json and its package-lock.json): the OpenAPI linters (lint.sh)
REDOCLY_CLI_VERSION=2.77.0             # @redocly/cli, `recommended` ruleset
SPECTRAL_CLI_VERSION=6.16.3            # @stoplight/spectral-cli, `spectral:oas` ruleset
