# syntax=docker/dockerfile:1
# Build: the pinned toolchain, locked dependencies.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock rust-toolchain.toml ./
COPY src ./src
# the operator's command line (src/cli) goes through the generated Rust client
COPY clients/rust/backup-master-client ./clients/rust/backup-master-client
RUN cargo build --release --locked

# Run: slim Debian, tzdata for the schedule's time zones, a non-root user, state in a volume.
FROM debian:bookworm-slim
# Unpinned on purpose: the slim base's security updates of these two packages should flow in.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends tzdata ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/backup-master --create-home backup-master
COPY --from=build /src/target/release/backup-master /usr/local/bin/backup-master
USER 10001
WORKDIR /var/lib/backup-master
VOLUME ["/var/lib/backup-master"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["backup-master", "healthcheck", "--url", "http://127.0.0.1:8080"]
ENTRYPOINT ["backup-master"]
# Inside a container the server must listen beyond loopback; mount a config for production.
CMD ["serve", "--listen", "0.0.0.0:8080"]
