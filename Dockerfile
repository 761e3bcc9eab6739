# Build: docker build -t unibox .    Run: see docker-compose.yml
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src src
COPY migrations migrations
COPY templates templates
COPY static static
COPY benches benches
RUN cargo build --release --locked --bin unibox

FROM debian:bookworm-slim
RUN useradd --system --home /var/lib/unibox --create-home unibox
COPY --from=build /src/target/release/unibox /usr/local/bin/unibox
USER unibox
WORKDIR /var/lib/unibox
ENV UNIBOX_LISTEN=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/unibox"]
CMD ["serve"]
