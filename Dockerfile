# cairn agent and mover image: static /cairn and /cairn-k8s on an empty base.
#   docker build -t cairn .
# Without a container daemon: `make image` writes bin/cairn-image.tar (internal/ociimage).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/cairn ./cmd/cairn && \
    CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/cairn-k8s ./cmd/cairn-k8s

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/cairn /cairn
COPY --from=build /out/cairn-k8s /cairn-k8s
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
ENTRYPOINT ["/cairn"]
