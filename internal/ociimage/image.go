package ociimage

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// BinaryPath is where the cairn binary lives in the image (the entrypoint; mover Jobs run
// "cairn mover ...").
const BinaryPath = "/cairn"

// K8sBinaryPath is where the cairn-k8s binary lives in the image: the agent Deployment runs it,
// and "cairn k8s ..." finds it next to /cairn.
const K8sBinaryPath = "/cairn-k8s"

// caPath is where the CA bundle goes (Go's crypto/x509 looks there on Linux).
const caPath = "/etc/ssl/certs/ca-certificates.crt"

// Options describe the image.
type Options struct {
	Binary string // path of the static cairn binary
	// K8sBinary is the path of the static cairn-k8s binary ("": an image without the
	// Kubernetes commands).
	K8sBinary string
	CACerts   string // optional CA bundle to include
	OS        string // default "linux"
	Arch      string // default "amd64"
	// Created is the image creation time (zero: the Unix epoch, for reproducible images).
	Created time.Time
	Labels  map[string]string
}

// Build returns the image: an empty base plus one layer with the binaries.
func Build(o Options) (v1.Image, error) {
	if o.OS == "" {
		o.OS = "linux"
	}
	if o.Arch == "" {
		o.Arch = "amd64"
	}
	var files []file
	bin, err := os.ReadFile(o.Binary)
	if err != nil {
		return nil, fmt.Errorf("image binary: %w", err)
	}
	files = append(files, file{BinaryPath, bin, 0o755})
	if o.K8sBinary != "" {
		k8s, err := os.ReadFile(o.K8sBinary)
		if err != nil {
			return nil, fmt.Errorf("image cairn-k8s binary: %w", err)
		}
		files = append(files, file{K8sBinaryPath, k8s, 0o755})
	}
	if o.CACerts != "" {
		ca, err := os.ReadFile(o.CACerts)
		if err != nil {
			return nil, fmt.Errorf("CA bundle: %w", err)
		}
		files = append(files, file{caPath, ca, 0o644})
	}
	layerTar, err := tarFiles(files)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("image layer: %w", err)
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{Layer: layer, History: v1.History{
		CreatedBy: "cairn ociimage: " + BinaryPath, Created: v1.Time{Time: o.Created}}})
	if err != nil {
		return nil, fmt.Errorf("append layer: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Created = o.OS, o.Arch, v1.Time{Time: o.Created}
	cf.Config.Entrypoint = []string{BinaryPath}
	cf.Config.Env = []string{"SSL_CERT_FILE=" + caPath}
	cf.Config.Labels = o.Labels
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	return img, nil
}

// WriteTarball writes img to path as an image tarball tagged ref.
func WriteTarball(path, ref string, img v1.Image) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("image tag %q: %w", ref, err)
	}
	tmp := path + ".tmp"
	if err := tarball.WriteToFile(tmp, tag, img); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write image: %w", err)
	}
	return os.Rename(tmp, path)
}

type file struct {
	path string
	data []byte
	mode int64
}

// tarFiles builds a layer tarball with the files and their parent directories.
func tarFiles(files []file) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	for _, f := range files {
		for i := 1; i < len(f.path); i++ {
			if f.path[i] == '/' && !dirs[f.path[1:i+1]] {
				dirs[f.path[1:i+1]] = true
				if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: f.path[1 : i+1], Mode: 0o755, Format: tar.FormatPAX}); err != nil {
					return nil, err
				}
			}
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.path[1:], Mode: f.mode, Size: int64(len(f.data)), Format: tar.FormatPAX}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
