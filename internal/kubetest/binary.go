package kubetest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/testserver"
)

// Environment variables that override the binaries' paths (scripts/kube.sh prints all three).
const (
	EnvAPIServerBinary = "CAIRN_KUBE_APISERVER_BIN"
	EnvEtcdBinary      = "CAIRN_ETCD_BIN"
	EnvKubectlBinary   = "CAIRN_KUBECTL_BIN"
)

// buildTimeout bounds a cold build of kube-apiserver by scripts/kube.sh inside a test run.
const buildTimeout = 20 * time.Minute

// binaries are the server executables a cluster runs.
type binaries struct{ apiserver, etcd string }

var (
	scriptOnce sync.Once
	scriptOut  map[string]string
	scriptErr  error
)

// findBinaries returns the server binaries: those named by the environment, else those
// scripts/kube.sh prints (it runs at most once per test process, building them when the
// cache is cold). It skips t (fails it when CI=true) if they cannot be had.
func findBinaries(t testing.TB) binaries {
	t.Helper()
	b, err := lookupBinaries()
	if err != nil {
		testserver.Unavailable(t, "kube binaries: %v", err)
	}
	return b
}

// KubectlBinary returns the path of a kubectl of the same Kubernetes version as the API
// server, from $CAIRN_KUBECTL_BIN or scripts/kube.sh, for checks such as
// `kubectl --kubeconfig CLUSTER.Kubeconfig() apply --dry-run=server`. It skips t (fails it
// when CI=true) if kubectl cannot be had.
func KubectlBinary(t testing.TB) string {
	t.Helper()
	p := os.Getenv(EnvKubectlBinary)
	if p == "" {
		out, err := scriptOutput()
		if err != nil {
			testserver.Unavailable(t, "kubectl: %v", err)
		}
		p = out[EnvKubectlBinary]
	}
	if err := testserver.Executable(p); err != nil {
		testserver.Unavailable(t, "kubectl: %s: %v", EnvKubectlBinary, err)
	}
	return p
}

// scriptOutput runs scripts/kube.sh once per test process and returns its KEY=VALUE lines.
func scriptOutput() (map[string]string, error) {
	scriptOnce.Do(func() { scriptOut, scriptErr = runScript() })
	return scriptOut, scriptErr
}

func lookupBinaries() (binaries, error) {
	b := binaries{apiserver: os.Getenv(EnvAPIServerBinary), etcd: os.Getenv(EnvEtcdBinary)}
	if b.apiserver == "" || b.etcd == "" {
		out, err := scriptOutput()
		if err != nil {
			return b, err
		}
		if b.apiserver == "" {
			b.apiserver = out[EnvAPIServerBinary]
		}
		if b.etcd == "" {
			b.etcd = out[EnvEtcdBinary]
		}
	}
	for _, p := range []struct{ env, path string }{{EnvAPIServerBinary, b.apiserver}, {EnvEtcdBinary, b.etcd}} {
		if err := testserver.Executable(p.path); err != nil {
			return b, fmt.Errorf("%s: %w", p.env, err)
		}
	}
	return b, nil
}

// runScript runs scripts/kube.sh and parses its KEY=VALUE output lines.
func runScript() (map[string]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	stdout, err := testserver.RunScript(ctx, "kube.sh")
	if err != nil {
		return nil, fmt.Errorf("%w; set $%s and $%s", err, EnvAPIServerBinary, EnvEtcdBinary)
	}
	out := make(map[string]string)
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "="); ok {
			out[k] = v
		}
	}
	return out, nil
}
