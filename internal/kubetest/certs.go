package kubetest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"net"

	"github.com/cairnbackup/cairn/internal/testserver"
)

// ca is the cluster's throwaway certificate authority; it signs the serving and client
// certificates.
type ca struct{ *testserver.CA }

type keyPair = testserver.KeyPair

func newCA() (*ca, error) {
	c, err := testserver.NewCA("cairn-kubetest-ca")
	if err != nil {
		return nil, err
	}
	return &ca{c}, nil
}

// serving issues the API server's certificate for 127.0.0.1, localhost and the in-cluster
// names of the kubernetes service.
func (c *ca) serving() (keyPair, error) {
	return c.Serving("kube-apiserver", []string{"kubernetes", "kubernetes.default", "kubernetes.default.svc",
		"kubernetes.default.svc.cluster.local"}, net.IPv4(10, 0, 0, 1))
}

// client issues a client certificate: the API server takes the common name as the user name
// and the organizations as the groups.
func (c *ca) client(user string, groups []string) (keyPair, error) {
	return c.Issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: user, Organization: groups},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
}

// newServiceAccountKey returns a PEM private key for signing and verifying service-account
// tokens (kube-apiserver accepts a private key file for both flags).
func newServiceAccountKey() ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate service-account key: %w", err)
	}
	return testserver.ECKeyPEM(key)
}
