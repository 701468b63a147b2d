# syntax=docker/dockerfile:1
# Build: docker build -t streamledger --build-arg VERSION=$(git describe --tags --always) .
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/streamledger ./cmd/streamledger \
 && mkdir -p /out/data

# A static binary on a distroless base: CA certificates for RPC and webhooks over TLS, no shell, a non-root user.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/streamledger /usr/local/bin/streamledger
COPY --from=build --chown=nonroot:nonroot /out/data /data
USER nonroot:nonroot
ENV LISTEN_ADDR=:3000 DATA_DIR=/data
EXPOSE 3000
VOLUME ["/data"]
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["/usr/local/bin/streamledger", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/streamledger"]
CMD ["serve"]
