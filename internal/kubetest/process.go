package kubetest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/cairnbackup/cairn/internal/testserver"
)

// logTail is how many bytes of each server's output Logs keeps.
const logTail = 64 << 10

// stopGrace is how long a server gets to exit after SIGTERM before it is killed.
const stopGrace = 5 * time.Second

// errExited reports a server that exited before it was ready (e.g. its port was taken).
var errExited = errors.New("server exited before it was ready")

// process is one running server.
type process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	logs *testserver.TailBuffer
}

// startProcess starts bin with args, its output going to logs.
func startProcess(name, bin string, args []string, logs *testserver.TailBuffer) (*process, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = serverEnv()
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = sysProcAttr()
	fmt.Fprintf(logs, "--- %s %s\n", bin, strings.Join(args, " "))
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, done: make(chan struct{}), logs: logs}
	go func() {
		err := cmd.Wait()
		fmt.Fprintf(logs, "--- %s exited: %v\n", name, err)
		close(p.done)
	}()
	return p, nil
}

// stop terminates the process and waits for it to exit: SIGTERM, then SIGKILL after
// stopGrace, or SIGKILL at once when kill is set. Safe to call more than once.
func (p *process) stop(kill bool) {
	if p == nil {
		return
	}
	select {
	case <-p.done:
		return
	default:
	}
	start := time.Now()
	if kill {
		_ = p.cmd.Process.Kill()
	} else {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	t := time.NewTimer(stopGrace)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	fmt.Fprintf(p.logs, "--- kubetest: %s stopped in %v\n", p.name, time.Since(start).Round(time.Millisecond))
}

// serverEnv is the parent's environment without settings that would change the servers'
// behaviour or resource use.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "ETCD_") || strings.HasPrefix(kv, "KUBECONFIG=") ||
			strings.HasPrefix(kv, "GOMAXPROCS=") || strings.HasPrefix(kv, "GOMEMLIMIT=") ||
			strings.HasPrefix(kv, "GODEBUG=") || strings.HasPrefix(kv, "GOTRACEBACK=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "GOMAXPROCS=2")
}
