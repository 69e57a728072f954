package miniotest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/testserver"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Fixed credentials and bucket of every test server.
const (
	AccessKey  = "cairn-test-root"
	SecretKey  = "cairn-test-secret-key"
	BucketName = "cairn-test"
)

// startTimeout bounds how long one server may take to become ready.
const startTimeout = 60 * time.Second

// Server is one running (or killed) MinIO server process with its own port and data.
type Server struct {
	bin     string
	dataDir string
	certDir string
	port    int
	console int

	caFile string         // CA of the server certificate (StartTLS)
	roots  *x509.CertPool // nil: plain HTTP

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	logs *testserver.TailBuffer
}

// Start starts n independent MinIO servers, each with bucket BucketName, and stops them
// when t ends. It skips t (fails it when CI=true) if a server cannot be started.
func Start(t testing.TB, n int) []*Server { return start(t, n, false) }

// StartTLS is Start with HTTPS: the servers present certificates for 127.0.0.1 signed by a
// throwaway CA whose PEM file is CAFile (the same for all n servers).
func StartTLS(t testing.TB, n int) []*Server { return start(t, n, true) }

func start(t testing.TB, n int, tls bool) []*Server {
	t.Helper()
	bin := Binary(t)
	var (
		authority *testserver.CA
		caFile    string
	)
	if tls {
		var err error
		if authority, err = testserver.NewCA("cairn-miniotest-ca"); err != nil {
			t.Fatal(err)
		}
		caFile = filepath.Join(t.TempDir(), "ca.pem")
		if err := os.WriteFile(caFile, authority.CertPEM, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	servers := make([]*Server, n)
	var (
		wg   sync.WaitGroup
		errs = make([]error, n)
	)
	for i := range n {
		s := &Server{
			bin:     bin,
			dataDir: t.TempDir(),
			certDir: t.TempDir(),
			logs:    &testserver.TailBuffer{Max: 32 << 10},
		}
		if tls {
			if err := s.useTLS(authority, caFile); err != nil {
				t.Fatal(err)
			}
		}
		servers[i] = s
		t.Cleanup(s.stop)
		wg.Go(func() { errs[i] = s.startFresh(t.Context()) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			testserver.Unavailable(t, "minio server %d: %v\n%s", i, err, servers[i].logs.String())
		}
	}
	return servers
}

// useTLS writes a serving certificate into the server's certificate directory.
func (s *Server) useTLS(authority *testserver.CA, caFile string) error {
	kp, err := authority.Serving("minio", nil)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(s.certDir, "public.crt"), kp.CertPEM, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(s.certDir, "private.key"), kp.KeyPEM, 0o600); err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AddCert(authority.Cert)
	s.caFile, s.roots = caFile, pool
	return nil
}

// TLS reports whether the server speaks HTTPS (StartTLS).
func (s *Server) TLS() bool { return s.roots != nil }

// CAFile returns the PEM file of the CA that signed the server's certificate ("" without TLS).
func (s *Server) CAFile() string { return s.caFile }

// transport returns an HTTP transport that trusts the server's certificate.
func (s *Server) transport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if s.roots != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: s.roots, MinVersion: tls.VersionTLS12}
	}
	return tr
}

// Endpoint returns the server's host:port.
func (s *Server) Endpoint() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL returns an s3:// repository URL for prefix in the server's bucket (plain HTTP, or
// HTTPS with the CA file for a StartTLS server).
func (s *Server) URL(prefix string) string {
	u := "s3://" + s.Endpoint() + "/" + BucketName
	if prefix != "" {
		u += "/" + strings.Trim(prefix, "/")
	}
	if s.TLS() {
		return u + "?ca=" + url.QueryEscape(s.caFile)
	}
	return u + "?tls=false"
}

// Bucket returns the name of the bucket created on the server.
func (s *Server) Bucket() string { return BucketName }

// AccessKey returns the root user name.
func (s *Server) AccessKey() string { return AccessKey }

// SecretKey returns the root password.
func (s *Server) SecretKey() string { return SecretKey }

// DataDir returns the server's data directory.
func (s *Server) DataDir() string { return s.dataDir }

// Logs returns the tail of the server's output, for failure messages.
func (s *Server) Logs() string { return s.logs.String() }

// Kill stops the server with SIGKILL and waits for it to exit, simulating a dead zone.
// Killing a stopped server is a no-op.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-done
	s.mu.Lock()
	if s.cmd == cmd {
		s.cmd = nil
	}
	s.mu.Unlock()
}

// Pause stops the process with SIGSTOP and waits until it is stopped: it keeps its
// connections and port but answers nothing, simulating a hung zone. Resume undoes it; Kill
// and cleanup work on a paused server.
func (s *Server) Pause(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		t.Fatal("miniotest: Pause of a server that is not running")
	}
	_ = s.cmd.Process.Signal(syscall.SIGSTOP)
	if err := waitStopped(s.cmd.Process.Pid); err != nil {
		t.Fatalf("miniotest: pause %s: %v", s.Endpoint(), err)
	}
}

// Resume continues a paused server with SIGCONT.
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		_ = s.cmd.Process.Signal(sig)
	}
}

// Restart kills the server if it runs and starts it again on the same port and data
// directory, waiting until it is ready. It fails t if the server does not come back.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Kill()
	ctx, cancel := context.WithTimeout(t.Context(), startTimeout)
	defer cancel()
	if err := s.launch(ctx); err != nil {
		t.Fatalf("restart minio on %s: %v\n%s", s.Endpoint(), err, s.logs.String())
	}
}

func (s *Server) stop() {
	s.Kill()
}

// startFresh picks ports, launches the server and creates the bucket. A server that exits
// before becoming ready (e.g. its port was taken meanwhile) is retried on fresh ports.
func (s *Server) startFresh(ctx context.Context) error {
	var err error
	for range 3 {
		if s.port, err = testserver.FreePort(); err != nil {
			return err
		}
		if s.console, err = testserver.FreePort(); err != nil {
			return err
		}
		lctx, cancel := context.WithTimeout(ctx, startTimeout)
		err = s.launch(lctx)
		cancel()
		if err == nil {
			break
		}
		if !errors.Is(err, errExited) {
			return err
		}
	}
	if err != nil {
		return err
	}
	return s.makeBucket(ctx)
}

var errExited = errors.New("server exited before it was ready")

// launch starts the process and waits until it answers as ready.
func (s *Server) launch(ctx context.Context) error {
	cmd := exec.Command(s.bin, "server",
		"--quiet", "--anonymous",
		"--address", s.Endpoint(),
		"--console-address", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.console)),
		"--certs-dir", s.certDir,
		s.dataDir)
	cmd.Env = serverEnv()
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	scheme := "http://"
	if s.TLS() {
		scheme = "https://"
	}
	if err := waitReady(ctx, scheme+s.Endpoint(), s.transport(), done); err != nil {
		s.Kill()
		return err
	}
	if err := s.waitIAM(ctx, done); err != nil {
		s.Kill()
		return err
	}
	return nil
}

// waitIAM polls until the server's IAM subsystem answers. MinIO serves the root user as
// soon as it is live but, for a moment after, answers any other access key with
// XMinioIAMNotInitialized, which a test of a wrong key then saw as "storage unavailable".
func (s *Server) waitIAM(ctx context.Context, exited <-chan struct{}) error {
	c, err := minio.New(s.Endpoint(), &minio.Options{
		Creds:     credentials.NewStaticV4("cairn-no-such-user", "cairn-no-such-secret", ""),
		Secure:    s.TLS(),
		Transport: s.transport(),
	})
	if err != nil {
		return err
	}
	return poll(ctx, exited, "IAM not ready at "+s.Endpoint(), func() (bool, error) {
		_, err := c.ListBuckets(ctx)
		code := minio.ToErrorResponse(err).Code
		if err == nil || code != "XMinioIAMNotInitialized" && code != "XMinioServerNotInitialized" {
			return false, nil
		}
		return true, err
	})
}

// poll calls try every 25 ms until it asks for no retry, the process exits (exited; nil
// for none) or ctx ends. try returns whether to retry and an error: with a retry, the
// reason it is not there yet (quoted if ctx ends); without, the result. what names the
// wait in the error when ctx ends.
func poll(ctx context.Context, exited <-chan struct{}, what string, try func() (retry bool, err error)) error {
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		retry, err := try()
		if !retry {
			return err
		}
		select {
		case <-exited:
			return errExited
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (last: %v)", what, ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// serverEnv is the parent's environment without MinIO/AWS settings, plus a small fixed
// configuration that keeps each server light (several fit on a 2-core machine).
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "MINIO_") || strings.HasPrefix(kv, "AWS_") ||
			strings.HasPrefix(kv, "GOMAXPROCS=") || strings.HasPrefix(kv, "GOMEMLIMIT=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"MINIO_ROOT_USER="+AccessKey,
		"MINIO_ROOT_PASSWORD="+SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_CI_CD=on",   // small buffer pool, no root-disk check
		"MINIO_UPDATE=off", // never phone home
		"MINIO_CALLHOME_ENABLE=off",
		"MINIO_SCANNER_SPEED=slowest",
		"MINIO_MEMLIMIT=1GiB", // GOMEMLIMIT of the server
		// The request limit MinIO derives from that memory is small, and on a loaded 2-core
		// machine (the race detector, six servers) requests queued past the deadline get
		// "SlowDownRead/Write". Tests measure cairn, not MinIO's admission control.
		"MINIO_API_REQUESTS_MAX=256",
		"MINIO_API_REQUESTS_DEADLINE=1m",
		"GOMAXPROCS=2",
	)
}

// waitReady polls the cluster health endpoint until it answers 200 without a
// status header, the process exits, or ctx ends. Unlike the liveness endpoint it
// also waits for the bucket metadata to be loaded: a restarted server heals every
// bucket it found on disk in the background while it loads them (HealBucket with
// Recreate, staggered by up to 125 ms), so a bucket deleted before that could
// come back as an empty directory (TestMinioRound saw it after a relaunch).
func waitReady(ctx context.Context, base string, tr http.RoundTripper, exited <-chan struct{}) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: tr}
	return poll(ctx, exited, "not ready at "+base, func() (bool, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/minio/health/cluster", nil)
		if err != nil {
			return false, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return true, err
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && resp.Header.Get("x-minio-server-status") == "" {
			return false, nil
		}
		return true, fmt.Errorf("health: %s", resp.Status)
	})
}

func (s *Server) makeBucket(ctx context.Context) error {
	c, err := minio.New(s.Endpoint(), &minio.Options{
		Creds:     credentials.NewStaticV4(AccessKey, SecretKey, ""),
		Secure:    s.TLS(),
		Transport: s.transport(),
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	return MakeBucket(ctx, c, BucketName)
}

// MakeBucket creates bucket through c and returns once the bucket answers a listing. A
// bucket the server already has is ours and no error: the data directory of an earlier
// run, or a MakeBucket that minio-go retried after its first attempt had succeeded
// (BucketAlreadyOwnedByYou).
func MakeBucket(ctx context.Context, c *minio.Client, bucket string) error {
	if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil &&
		minio.ToErrorResponse(err).Code != "BucketAlreadyOwnedByYou" {
		return fmt.Errorf("create bucket %s: %w", bucket, err)
	}
	return waitBucket(ctx, c, bucket)
}

// waitBucket polls until a listing of bucket no longer answers NoSuchBucket. Under the
// load of the whole test suite, a fresh server once answered NoSuchBucket to the first
// listing after MakeBucket had returned (TestSaveFileMinIO); a retried MakeBucket can see
// BucketAlreadyOwnedByYou while the first request is still setting the bucket up. It gives
// up after startTimeout.
func waitBucket(ctx context.Context, c *minio.Client, bucket string) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	return poll(ctx, nil, "bucket "+bucket+" not listable", func() (bool, error) {
		var err error
		for obj := range c.ListObjectsIter(ctx, bucket, minio.ListObjectsOptions{MaxKeys: 1}) {
			err = obj.Err
			break
		}
		switch {
		case err == nil:
			return false, nil
		case minio.ToErrorResponse(err).Code == "NoSuchBucket":
			return true, err
		}
		return false, fmt.Errorf("list new bucket %s: %w", bucket, err)
	})
}
