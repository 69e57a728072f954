package kubetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/testserver"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// startTimeout bounds the start of both servers and the CRD installation.
const startTimeout = 2 * time.Minute

// pollInterval is how often readiness and deletion progress are polled.
const pollInterval = 50 * time.Millisecond

// adminUser is the admin identity's user name; its group system:masters is bound to
// cluster-admin by the API server's bootstrap RBAC policy.
const adminUser = "kubetest-admin"

// Cluster is a running etcd plus kube-apiserver on 127.0.0.1. Its methods are safe for
// concurrent use.
type Cluster struct {
	t          testing.TB
	host       string // https://127.0.0.1:port
	etcdURL    string // http://127.0.0.1:port
	ca         *ca
	admin      keyPair
	kubeconfig string

	etcdLogs, apiLogs *testserver.TailBuffer
	etcd, apiserver   *process
}

// Start starts etcd and kube-apiserver on 127.0.0.1 (free ports, temporary directories, a
// freshly generated CA, serving certificate and service-account key, an admin identity by
// client certificate in group system:masters), installs the VolumeSnapshot CRDs
// (snapshot.storage.k8s.io/v1: VolumeSnapshot, VolumeSnapshotContent, VolumeSnapshotClass),
// waits until the API serves them, and stops everything in t.Cleanup. The binaries come from
// $CAIRN_KUBE_APISERVER_BIN and $CAIRN_ETCD_BIN or from scripts/kube.sh. When they cannot be
// had or the cluster does not start, Start skips t, or fails it when CI=true.
func Start(t testing.TB) *Cluster {
	t.Helper()
	bins := findBinaries(t)
	dir := t.TempDir()
	c := &Cluster{
		t:        t,
		etcdLogs: &testserver.TailBuffer{Max: logTail},
		apiLogs:  &testserver.TailBuffer{Max: logTail},
	}
	// Cleanups run last-in first-out: log on failure, then stop, then remove dir.
	t.Cleanup(c.stop)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("kubetest: server logs (tail):\n%s", c.Logs())
		}
	})
	ctx, cancel := context.WithTimeout(t.Context(), startTimeout)
	defer cancel()
	if err := c.start(ctx, bins, dir); err != nil {
		c.stop()
		testserver.Unavailable(t, "start kube-apiserver and etcd: %v\n%s", err, c.Logs())
	}
	return c
}

func (c *Cluster) start(ctx context.Context, bins binaries, dir string) error {
	pki := filepath.Join(dir, "pki")
	if err := c.writePKI(pki); err != nil {
		return err
	}
	start := time.Now()
	if err := c.startEtcd(ctx, bins.etcd, filepath.Join(dir, "etcd")); err != nil {
		return err
	}
	fmt.Fprintf(c.etcdLogs, "--- kubetest: etcd ready after %v\n", time.Since(start).Round(time.Millisecond))
	if err := c.startAPIServer(ctx, bins.apiserver, pki); err != nil {
		return err
	}
	fmt.Fprintf(c.apiLogs, "--- kubetest: kube-apiserver ready after %v\n", time.Since(start).Round(time.Millisecond))
	c.kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := writeKubeconfig(c.kubeconfig, c.host, c.ca.CertPEM, c.admin); err != nil {
		return err
	}
	if err := installCRDs(ctx, c.RESTConfig()); err != nil {
		return err
	}
	fmt.Fprintf(c.apiLogs, "--- kubetest: CRDs established after %v\n", time.Since(start).Round(time.Millisecond))
	return nil
}

// writePKI generates the CA, the serving and admin certificates and the service-account key
// and writes the files the API server reads.
func (c *Cluster) writePKI(pki string) error {
	var err error
	if c.ca, err = newCA(); err != nil {
		return err
	}
	serving, err := c.ca.serving()
	if err != nil {
		return err
	}
	if c.admin, err = c.ca.client(adminUser, []string{"system:masters"}); err != nil {
		return err
	}
	saKey, err := newServiceAccountKey()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(pki, 0o700); err != nil {
		return fmt.Errorf("create pki dir: %w", err)
	}
	for name, data := range map[string][]byte{
		"ca.crt": c.ca.CertPEM, "apiserver.crt": serving.CertPEM, "apiserver.key": serving.KeyPEM, "sa.key": saKey,
	} {
		if err := os.WriteFile(filepath.Join(pki, name), data, 0o600); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}

// startEtcd launches etcd on fresh ports, retrying when it exits before it is ready.
func (c *Cluster) startEtcd(ctx context.Context, bin, dataDir string) error {
	var err error
	for range 3 {
		var clientPort, peerPort int
		if clientPort, err = testserver.FreePort(); err != nil {
			return err
		}
		if peerPort, err = testserver.FreePort(); err != nil {
			return err
		}
		if err = os.RemoveAll(dataDir); err != nil {
			return fmt.Errorf("reset etcd data dir: %w", err)
		}
		clientURL := "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(clientPort))
		c.etcd, err = startProcess("etcd", bin, []string{
			"--data-dir", dataDir,
			"--listen-client-urls", clientURL,
			"--listen-peer-urls", "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(peerPort)),
		}, c.etcdLogs)
		if err != nil {
			return err
		}
		if err = waitEtcd(ctx, clientURL, c.etcd.done); err == nil {
			c.etcdURL = clientURL
			return nil
		}
		c.etcd.stop(false)
		if !errors.Is(err, errExited) {
			return fmt.Errorf("etcd: %w", err)
		}
	}
	return fmt.Errorf("etcd: %w", err)
}

// startAPIServer launches kube-apiserver on a fresh port, retrying when it exits before it
// is ready.
func (c *Cluster) startAPIServer(ctx context.Context, bin, pki string) error {
	var err error
	for range 3 {
		var port int
		if port, err = testserver.FreePort(); err != nil {
			return err
		}
		c.host = "https://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		c.apiserver, err = startProcess("kube-apiserver", bin, apiserverArgs(c.etcdURL, port, pki), c.apiLogs)
		if err != nil {
			return err
		}
		if err = c.waitAPIServer(ctx); err == nil {
			return nil
		}
		c.apiserver.stop(true)
		if !errors.Is(err, errExited) {
			return fmt.Errorf("kube-apiserver: %w", err)
		}
	}
	return fmt.Errorf("kube-apiserver: %w", err)
}

// apiserverArgs are the flags of a standalone API server: RBAC, no ServiceAccount admission
// (no token controller creates "default" service accounts), privileged pods allowed, no
// priority-and-fairness or endpoint reconciling overhead.
func apiserverArgs(etcdURL string, port int, pki string) []string {
	f := func(name string) string { return filepath.Join(pki, name) }
	return []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + filepath.Join(pki, "generated"),
		"--tls-cert-file=" + f("apiserver.crt"),
		"--tls-private-key-file=" + f("apiserver.key"),
		"--client-ca-file=" + f("ca.crt"),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + f("sa.key"),
		"--service-account-signing-key-file=" + f("sa.key"),
		"--service-cluster-ip-range=10.0.0.0/24",
		"--authorization-mode=RBAC",
		"--disable-admission-plugins=ServiceAccount",
		"--watch-cache=false",
		"--allow-privileged=true",
		"--enable-priority-and-fairness=false",
		"--endpoint-reconciler-type=none",
		"--profiling=false",
	}
}

// waitEtcd polls etcd's /health until it reports healthy, the process exits, or ctx ends.
func waitEtcd(ctx context.Context, base string, exited <-chan struct{}) error {
	client := &http.Client{Timeout: 2 * time.Second}
	return poll(ctx, exited, func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/health", nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var body bytes.Buffer
		_, _ = body.ReadFrom(resp.Body)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body.String(), `"true"`) {
			return fmt.Errorf("health: %s %s", resp.Status, strings.TrimSpace(body.String()))
		}
		return nil
	})
}

// waitAPIServer polls /readyz as the admin until it answers ok, the process exits, or ctx ends.
func (c *Cluster) waitAPIServer(ctx context.Context) error {
	cfg := c.RESTConfig()
	cfg.Timeout = 5 * time.Second
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	return poll(ctx, c.apiserver.done, func() error {
		body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err != nil {
			return fmt.Errorf("readyz: %w: %s", err, body)
		}
		return nil
	})
}

// poll calls check every pollInterval until it returns nil. It returns errExited when exited
// closes first, and ctx's error (with check's last error) when ctx ends first.
func poll(ctx context.Context, exited <-chan struct{}, check func() error) error {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		last := check()
		if last == nil {
			return nil
		}
		select {
		case <-exited:
			return errExited
		case <-ctx.Done():
			return fmt.Errorf("not ready: %w (last: %v)", ctx.Err(), last)
		case <-tick.C:
		}
	}
}

// stop kills the API server (its graceful shutdown takes a second and everything it holds
// is thrown away), then stops etcd. Safe to call more than once.
func (c *Cluster) stop() {
	c.apiserver.stop(true)
	c.etcd.stop(false)
}

// RESTConfig returns a fresh client configuration for the admin (group system:masters, bound
// to cluster-admin). Callers may modify it.
func (c *Cluster) RESTConfig() *rest.Config { return c.configFor(c.admin) }

// RESTConfigFor returns a fresh client configuration authenticated (by a newly issued client
// certificate) as user in groups. Beyond what the API server's bootstrap policy grants to
// every authenticated user (discovery, self-reviews), the user may do nothing until the test
// creates RBAC bindings for it. It fails t if the certificate cannot be issued, so call it
// from the test's goroutine.
func (c *Cluster) RESTConfigFor(user string, groups ...string) *rest.Config {
	kp, err := c.ca.client(user, groups)
	if err != nil {
		c.t.Fatalf("kubetest: client certificate for %q: %v", user, err)
	}
	return c.configFor(kp)
}

func (c *Cluster) configFor(kp keyPair) *rest.Config {
	return &rest.Config{
		Host: c.host,
		TLSClientConfig: rest.TLSClientConfig{
			CAData:   bytes.Clone(c.ca.CertPEM),
			CertData: bytes.Clone(kp.CertPEM),
			KeyData:  bytes.Clone(kp.KeyPEM),
		},
		// The default 5 QPS would make tests wait on the client-side rate limiter.
		QPS:   200,
		Burst: 400,
	}
}

// Kubeconfig returns the path of a kubeconfig file for the admin (context "kubetest",
// namespace "default"), for tools such as kubectl.
func (c *Cluster) Kubeconfig() string { return c.kubeconfig }

// Logs returns the tail of etcd's and kube-apiserver's output, for failure messages.
func (c *Cluster) Logs() string {
	return "=== etcd ===\n" + c.etcdLogs.String() + "\n=== kube-apiserver ===\n" + c.apiLogs.String()
}
