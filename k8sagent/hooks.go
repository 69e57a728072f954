package k8sagent

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// Hook annotations on pods. The command is a JSON array of strings
// (["fsfreeze","--freeze","/data"]) or a plain string run with /bin/sh -c.
const (
	AnnotationPreBackupHook  = "cairn.io/pre-backup-hook"
	AnnotationPostBackupHook = "cairn.io/post-backup-hook"
	AnnotationHookContainer  = "cairn.io/hook-container" // default: the pod's first container
	AnnotationHookTimeout    = "cairn.io/hook-timeout"   // Go duration; default DefaultHookTimeout
	AnnotationHookOnError    = "cairn.io/hook-on-error"  // "Fail" (default) or "Continue"
)

// DefaultHookTimeout bounds one hook command unless the pod says otherwise.
const DefaultHookTimeout = 30 * time.Second

// Executor runs a command in a container of a running pod (in-cluster: the exec subresource,
// see RemoteExecutor).
type Executor interface {
	Exec(ctx context.Context, namespace, pod, container string, command []string) (stdout, stderr string, err error)
}

// Hook is one command to run in a pod around the volume snapshots.
type Hook struct {
	Namespace, Pod, Container string
	Command                   []string
	Timeout                   time.Duration
	ContinueOnError           bool
}

// Hooks are the pre and post hooks of one backup.
type Hooks struct {
	Pre, Post []Hook
}

// ParseHooks reads the hook annotations of pods (Running pods only; others are skipped:
// there is nothing to exec into). Pre hooks are ordered by pod name; post hooks run in the
// reverse order, so the first pod frozen is the last thawed.
func ParseHooks(pods []Object) (Hooks, error) {
	var h Hooks
	sorted := slices.Clone(pods)
	slices.SortFunc(sorted, func(a, b Object) int { return strings.Compare(a.GetName(), b.GetName()) })
	for _, p := range sorted {
		ann := p.GetAnnotations()
		if ann[AnnotationPreBackupHook] == "" && ann[AnnotationPostBackupHook] == "" {
			continue
		}
		if phase, _, _ := nestedString(p, "status", "phase"); phase != "Running" {
			continue
		}
		base := Hook{Namespace: p.GetNamespace(), Pod: p.GetName(), Container: ann[AnnotationHookContainer],
			Timeout: DefaultHookTimeout}
		if base.Container == "" {
			base.Container = firstContainer(p)
		}
		if base.Container == "" {
			return Hooks{}, fmt.Errorf("%w: pod %s has no containers", ErrBadHook, p.GetName())
		}
		if s := ann[AnnotationHookTimeout]; s != "" {
			d, err := time.ParseDuration(s)
			if err != nil || d <= 0 {
				return Hooks{}, fmt.Errorf("%w: pod %s: %s=%q is not a positive duration", ErrBadHook, p.GetName(), AnnotationHookTimeout, s)
			}
			base.Timeout = d
		}
		switch s := ann[AnnotationHookOnError]; s {
		case "", "Fail":
		case "Continue":
			base.ContinueOnError = true
		default:
			return Hooks{}, fmt.Errorf("%w: pod %s: %s=%q (want Fail or Continue)", ErrBadHook, p.GetName(), AnnotationHookOnError, s)
		}
		for _, a := range []struct {
			key string
			dst *[]Hook
		}{{AnnotationPreBackupHook, &h.Pre}, {AnnotationPostBackupHook, &h.Post}} {
			s := strings.TrimSpace(ann[a.key])
			if s == "" {
				continue
			}
			cmd, err := parseCommand(s)
			if err != nil {
				return Hooks{}, fmt.Errorf("%w: pod %s: %s: %v", ErrBadHook, p.GetName(), a.key, err)
			}
			hk := base
			hk.Command = cmd
			*a.dst = append(*a.dst, hk)
		}
	}
	slices.Reverse(h.Post)
	return h, nil
}

// parseCommand parses a hook command: a JSON array of strings, or a shell command line.
func parseCommand(s string) ([]string, error) {
	if strings.HasPrefix(s, "[") {
		var cmd []string
		if err := json.Unmarshal([]byte(s), &cmd); err != nil {
			return nil, fmt.Errorf("not a JSON array of strings: %v", err)
		}
		if len(cmd) == 0 || cmd[0] == "" {
			return nil, fmt.Errorf("empty command")
		}
		return cmd, nil
	}
	return []string{"/bin/sh", "-c", s}, nil
}

func firstContainer(p Object) string {
	cs, _, _ := nestedSlice(p, "spec", "containers")
	if len(cs) == 0 {
		return ""
	}
	m, _ := cs[0].(map[string]any)
	name, _ := m["name"].(string)
	return name
}

// RunHooks runs hooks in order. A failing hook stops the run with an error wrapping
// ErrHookFailed unless it may continue; then it is logged and the next one runs.
func RunHooks(ctx context.Context, ex Executor, hooks []Hook, log *slog.Logger) error {
	for _, h := range hooks {
		if ex == nil {
			return fmt.Errorf("%w: pod %s declares a hook but no executor is configured", ErrHookFailed, h.Pod)
		}
		hctx, cancel := context.WithTimeout(ctx, h.Timeout)
		stdout, stderr, err := ex.Exec(hctx, h.Namespace, h.Pod, h.Container, h.Command)
		cancel()
		if err == nil {
			log.Info("hook ran", "pod", h.Pod, "container", h.Container, "command", h.Command, "stdout", trimOutput(stdout))
			continue
		}
		err = fmt.Errorf("%w: pod %s container %s: %v (stderr: %s)", ErrHookFailed, h.Pod, h.Container, err, trimOutput(stderr))
		if !h.ContinueOnError {
			return err
		}
		log.Warn("hook failed, continuing", "error", err)
	}
	return nil
}

func trimOutput(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 512 {
		s = s[:512] + "..."
	}
	return s
}
