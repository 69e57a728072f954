package kubetest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
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
		unavailable(t, "kube binaries: %v", err)
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
			unavailable(t, "kubectl: %v", err)
		}
		p = out[EnvKubectlBinary]
	}
	if err := executable(p); err != nil {
		unavailable(t, "kubectl: %s: %v", EnvKubectlBinary, err)
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
		if err := executable(p.path); err != nil {
			return b, fmt.Errorf("%s: %w", p.env, err)
		}
	}
	return b, nil
}

// runScript runs scripts/kube.sh and parses its KEY=VALUE output lines.
func runScript() (map[string]string, error) {
	script, err := findScript()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "bash", script)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: %w: %s", script, err, strings.TrimSpace(stderr.String()))
	}
	out := make(map[string]string)
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "="); ok {
			out[k] = v
		}
	}
	return out, nil
}

func executable(p string) error {
	if p == "" {
		return errors.New("no path")
	}
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", p)
	}
	return nil
}

// findScript locates scripts/kube.sh by walking up from the working directory (a test runs
// in its package directory), then from this source file.
func findScript() (string, error) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		starts = append(starts, filepath.Dir(file))
	}
	for _, dir := range starts {
		for {
			p := filepath.Join(dir, "scripts", "kube.sh")
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", fmt.Errorf("scripts/kube.sh not found above the working directory; set $%s and $%s",
		EnvAPIServerBinary, EnvEtcdBinary)
}

// unavailable skips t, or fails it when running in CI (CI=true).
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("integration test cannot run in CI: "+format, args...)
	}
	t.Skipf("skipping integration test: "+format, args...)
}
