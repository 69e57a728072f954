package kubetest

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/internal/testserver"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func parseCert(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("not a PEM certificate: %q", certPEM)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func TestCertificates(t *testing.T) {
	authority, err := newCA()
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(authority.Cert)
	serving, err := authority.serving()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseCert(t, serving.CertPEM).Verify(x509.VerifyOptions{
		Roots: roots, DNSName: "127.0.0.1", KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}); err != nil {
		t.Errorf("serving certificate for 127.0.0.1: %v", err)
	}
	if !slices.ContainsFunc(parseCert(t, serving.CertPEM).IPAddresses, func(ip net.IP) bool { return ip.Equal(net.IPv4(10, 0, 0, 1)) }) {
		t.Errorf("serving certificate lacks the kubernetes service IP 10.0.0.1")
	}

	for _, tc := range []struct {
		user   string
		groups []string
	}{
		{"kubetest-admin", []string{"system:masters"}},
		{"alice", nil},
		{"bob", []string{"a", "b"}},
	} {
		kp, err := authority.client(tc.user, tc.groups)
		if err != nil {
			t.Fatal(err)
		}
		cert := parseCert(t, kp.CertPEM)
		if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Errorf("client certificate %s: %v", tc.user, err)
		}
		if cert.Subject.CommonName != tc.user || !slices.Equal(cert.Subject.Organization, tc.groups) {
			t.Errorf("client certificate subject = %q %q, want %q %q", cert.Subject.CommonName, cert.Subject.Organization, tc.user, tc.groups)
		}
		if block, _ := pem.Decode(kp.KeyPEM); block == nil || block.Type != "EC PRIVATE KEY" {
			t.Errorf("client key of %s is not a PEM EC key", tc.user)
		}
	}
}

func TestTailBuffer(t *testing.T) {
	for _, tc := range []struct {
		writes []string
		max    int
		want   string
	}{
		{[]string{"abc"}, 8, "abc"},
		{[]string{"abc", "defgh"}, 8, "abcdefgh"},
		{[]string{"abc", "defgh", "ij"}, 8, "cdefghij"},
		{[]string{"0123456789abcdef"}, 4, "cdef"},
	} {
		b := &testserver.TailBuffer{Max: tc.max}
		for _, w := range tc.writes {
			if n, err := b.Write([]byte(w)); n != len(w) || err != nil {
				t.Fatalf("Write(%q) = %d, %v", w, n, err)
			}
		}
		if got := b.String(); got != tc.want {
			t.Errorf("after %q (max %d): %q, want %q", tc.writes, tc.max, got, tc.want)
		}
	}
}

func TestSnapshotCRDs(t *testing.T) {
	crds, err := snapshotCRDs()
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, crd := range crds {
		if g, _, _ := unstructured.NestedString(crd.Object, "spec", "group"); g != "snapshot.storage.k8s.io" {
			t.Errorf("CRD %s has group %q", crd.GetName(), g)
		}
		kind, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "kind")
		kinds = append(kinds, kind)
		versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
		if !slices.ContainsFunc(versions, func(v any) bool {
			m, _ := v.(map[string]any)
			return m["name"] == "v1" && m["served"] == true && m["storage"] == true
		}) {
			t.Errorf("CRD %s does not serve and store v1", crd.GetName())
		}
	}
	slices.Sort(kinds)
	if want := []string{"VolumeSnapshot", "VolumeSnapshotClass", "VolumeSnapshotContent"}; !slices.Equal(kinds, want) {
		t.Errorf("CRD kinds = %q, want %q", kinds, want)
	}
}

// TestCRDsMatchModule fails when the embedded CRDs drift from those of the
// external-snapshotter client module the main module requires.
func TestCRDsMatchModule(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/kubernetes-csi/external-snapshotter/client/v8").Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		t.Skipf("external-snapshotter client module not in the module cache: %v", err)
	}
	entries, err := crdFS.ReadDir("crds")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if filepath.Ext(e.Name()) != ".yaml" {
			continue
		}
		n++
		embedded, _ := crdFS.ReadFile("crds/" + e.Name())
		upstream, err := os.ReadFile(filepath.Join(dir, "config", "crd", e.Name()))
		if err != nil {
			t.Errorf("%s: %v", e.Name(), err)
			continue
		}
		if !bytes.Equal(embedded, upstream) {
			t.Errorf("crds/%s differs from %s; refresh it (see crds/README.md)", e.Name(), dir)
		}
	}
	if n != 3 {
		t.Errorf("%d embedded CRDs, want 3", n)
	}
}
