// Command mkimage writes cairn's container image as an OCI image tarball without a container
// daemon (used by `make image`):
//
//	CGO_ENABLED=0 go build -o bin/cairn-static ./cmd/cairn
//	CGO_ENABLED=0 go build -o bin/cairn-k8s-static ./cmd/cairn-k8s
//	go run ./internal/ociimage/cmd/mkimage -binary bin/cairn-static -k8s-binary bin/cairn-k8s-static -out bin/cairn-image.tar
//	docker load -i bin/cairn-image.tar   # or: crane push bin/cairn-image.tar REGISTRY/cairn:TAG
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/cairnbackup/cairn/internal/ociimage"
)

func main() {
	var o ociimage.Options
	out := flag.String("out", "bin/cairn-image.tar", "image tarball to write")
	tag := flag.String("tag", "ghcr.io/cairnbackup/cairn:dev", "image reference recorded in the tarball")
	flag.StringVar(&o.Binary, "binary", "bin/cairn-static", "static cairn binary (CGO_ENABLED=0)")
	flag.StringVar(&o.K8sBinary, "k8s-binary", "bin/cairn-k8s-static", `static cairn-k8s binary ("" for an image without it)`)
	flag.StringVar(&o.CACerts, "ca-certs", "/etc/ssl/certs/ca-certificates.crt", `CA bundle to include ("" for none)`)
	flag.StringVar(&o.Arch, "arch", "amd64", "image architecture (must match the binary)")
	flag.Parse()
	if o.CACerts != "" {
		if _, err := os.Stat(o.CACerts); err != nil {
			fmt.Fprintf(os.Stderr, "mkimage: no CA bundle at %s; building without (S3 over TLS will fail)\n", o.CACerts)
			o.CACerts = ""
		}
	}
	o.Labels = map[string]string{"org.opencontainers.image.title": "cairn", "org.opencontainers.image.source": "https://github.com/cairnbackup/cairn"}
	img, err := ociimage.Build(o)
	if err == nil {
		err = ociimage.WriteTarball(*out, *tag, img)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkimage:", err)
		os.Exit(1)
	}
	d, _ := img.Digest()
	fmt.Printf("wrote %s (%s, %s)\n", *out, *tag, d)
}
