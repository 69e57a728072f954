// Package ociimage builds cairn's container image without a container daemon: one layer on
// an empty base holding the static cairn binary at /cairn, cairn-k8s at /cairn-k8s (and, when
// given, a CA bundle for TLS to S3 endpoints), with /cairn as entrypoint, written as an OCI image tarball that docker load,
// podman load, crane push or skopeo accept. `make image` runs cmd/mkimage.
//
// # Caveats
//
//   - The binaries must be static (CGO_ENABLED=0): the base is empty, there is no libc.
//   - The image sets no user: the agent's Deployment runs it as non-root, mover Jobs as root
//     (they read and write block devices).
package ociimage
