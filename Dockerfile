# placeholder until the Docker issue: build and run the server
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked

FROM debian:bookworm-slim
RUN useradd --system --home /var/lib/backup-master backup-master
COPY --from=build /src/target/release/backup-master /usr/local/bin/backup-master
USER backup-master
WORKDIR /var/lib/backup-master
EXPOSE 8080
HEALTHCHECK CMD ["backup-master", "healthcheck"]
ENTRYPOINT ["backup-master"]
CMD ["serve"]
