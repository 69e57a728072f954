package ociimage

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func TestBuildAndInspect(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "cairn")
	payload := []byte("\x7fELF not really a binary")
	if err := os.WriteFile(bin, payload, 0o755); err != nil {
		t.Fatal(err)
	}
	k8sBin := filepath.Join(dir, "cairn-k8s")
	k8sPayload := []byte("\x7fELF not really cairn-k8s")
	if err := os.WriteFile(k8sBin, k8sPayload, 0o755); err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(dir, "ca.pem")
	os.WriteFile(ca, []byte("-----BEGIN CERTIFICATE-----\n"), 0o644)
	img, err := Build(Options{Binary: bin, K8sBinary: k8sBin, CACerts: ca, Labels: map[string]string{"org.opencontainers.image.title": "cairn"}})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "image.tar")
	if err := WriteTarball(out, "ghcr.io/cairnbackup/cairn:test", img); err != nil {
		t.Fatal(err)
	}

	// Read the tarball back as a consumer would.
	got, err := tarball.ImageFromPath(out, nil)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := got.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cf.Config.Entrypoint, []string{BinaryPath}) || cf.OS != "linux" || cf.Architecture != "amd64" {
		t.Errorf("config: entrypoint %q, platform %s/%s", cf.Config.Entrypoint, cf.OS, cf.Architecture)
	}
	layers, err := got.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers: %d, %v", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	files := map[string][]byte{}
	modes := map[string]int64{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		files["/"+h.Name], modes["/"+h.Name] = b, h.Mode
	}
	if !bytes.Equal(files[BinaryPath], payload) || modes[BinaryPath]&0o111 == 0 {
		t.Errorf("layer lacks the executable binary at %s: %v", BinaryPath, modes)
	}
	if !bytes.Equal(files[K8sBinaryPath], k8sPayload) || modes[K8sBinaryPath]&0o111 == 0 {
		t.Errorf("layer lacks the executable cairn-k8s at %s: %v", K8sBinaryPath, modes)
	}
	if _, ok := files[caPath]; !ok {
		t.Errorf("layer lacks the CA bundle")
	}

	// Reproducible: the same inputs give the same image digest.
	img2, _ := Build(Options{Binary: bin, K8sBinary: k8sBin, CACerts: ca, Labels: map[string]string{"org.opencontainers.image.title": "cairn"}})
	d1, _ := img.Digest()
	d2, _ := img2.Digest()
	if d1 != d2 {
		t.Errorf("image digests differ: %s %s", d1, d2)
	}
}

func TestBuildMissingBinary(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "cairn")
	if err := os.WriteFile(bin, []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Build(Options{Binary: bin, K8sBinary: filepath.Join(t.TempDir(), "nope")}); err == nil {
		t.Error("a missing cairn-k8s binary must be an error")
	}
	if _, err := Build(Options{Binary: filepath.Join(t.TempDir(), "nope")}); err == nil {
		t.Error("Build without a binary succeeded")
	}
}
