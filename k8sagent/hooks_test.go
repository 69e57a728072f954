package k8sagent

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"testing"
	"time"
)

func pod(name, phase string, ann map[string]any) Object {
	a := map[string]any{}
	for k, v := range ann {
		a[k] = v
	}
	return obj(map[string]any{"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": name, "namespace": "shop", "annotations": a},
		"spec":     map[string]any{"containers": []any{map[string]any{"name": "main"}, map[string]any{"name": "side"}}},
		"status":   map[string]any{"phase": phase}})
}

func TestParseHooks(t *testing.T) {
	tests := []struct {
		name    string
		pods    []Object
		pre     []Hook
		post    []Hook
		wantErr bool
	}{
		{"none", []Object{pod("a", "Running", nil)}, nil, nil, false},
		{"shell and JSON forms, ordered by pod, post reversed",
			[]Object{
				pod("b", "Running", map[string]any{AnnotationPreBackupHook: `["fsfreeze","-f","/data"]`, AnnotationPostBackupHook: `["fsfreeze","-u","/data"]`}),
				pod("a", "Running", map[string]any{AnnotationPreBackupHook: "sync", AnnotationHookContainer: "side",
					AnnotationHookTimeout: "5s", AnnotationHookOnError: "Continue"}),
			},
			[]Hook{
				{Namespace: "shop", Pod: "a", Container: "side", Command: []string{"/bin/sh", "-c", "sync"}, Timeout: 5 * time.Second, ContinueOnError: true},
				{Namespace: "shop", Pod: "b", Container: "main", Command: []string{"fsfreeze", "-f", "/data"}, Timeout: DefaultHookTimeout},
			},
			[]Hook{{Namespace: "shop", Pod: "b", Container: "main", Command: []string{"fsfreeze", "-u", "/data"}, Timeout: DefaultHookTimeout}},
			false},
		{"pods not running are skipped", []Object{pod("a", "Pending", map[string]any{AnnotationPreBackupHook: "sync"})}, nil, nil, false},
		{"bad JSON", []Object{pod("a", "Running", map[string]any{AnnotationPreBackupHook: `["x",`})}, nil, nil, true},
		{"empty JSON command", []Object{pod("a", "Running", map[string]any{AnnotationPreBackupHook: `[]`})}, nil, nil, true},
		{"bad timeout", []Object{pod("a", "Running", map[string]any{AnnotationPreBackupHook: "x", AnnotationHookTimeout: "soon"})}, nil, nil, true},
		{"bad policy", []Object{pod("a", "Running", map[string]any{AnnotationPreBackupHook: "x", AnnotationHookOnError: "Ignore"})}, nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := ParseHooks(tt.pods)
			if tt.wantErr {
				if !errors.Is(err, ErrBadHook) {
					t.Fatalf("err = %v, want ErrBadHook", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(h.Pre, tt.pre) || !reflect.DeepEqual(h.Post, tt.post) {
				t.Errorf("hooks =\n pre %+v\n post %+v\nwant\n pre %+v\n post %+v", h.Pre, h.Post, tt.pre, tt.post)
			}
		})
	}
}

// recordingExecutor records commands and fails those of pods in fail.
type recordingExecutor struct {
	ran  []string
	fail map[string]bool
}

func (r *recordingExecutor) Exec(ctx context.Context, ns, pod, container string, cmd []string) (string, string, error) {
	if _, ok := ctx.Deadline(); !ok {
		return "", "", errors.New("no deadline")
	}
	r.ran = append(r.ran, pod+":"+cmd[len(cmd)-1])
	if r.fail[pod] {
		return "", "boom", errors.New("exit 1")
	}
	return "ok", "", nil
}

func TestRunHooks(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	hooks := []Hook{
		{Pod: "a", Command: []string{"one"}, Timeout: time.Minute, ContinueOnError: true},
		{Pod: "b", Command: []string{"two"}, Timeout: time.Minute},
		{Pod: "c", Command: []string{"three"}, Timeout: time.Minute},
	}
	tests := []struct {
		name    string
		fail    map[string]bool
		ran     []string
		wantErr bool
	}{
		{"all succeed", nil, []string{"a:one", "b:two", "c:three"}, false},
		{"continue on error", map[string]bool{"a": true}, []string{"a:one", "b:two", "c:three"}, false},
		{"fail stops", map[string]bool{"b": true}, []string{"a:one", "b:two"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex := &recordingExecutor{fail: tt.fail}
			err := RunHooks(context.Background(), ex, hooks, log)
			if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, ErrHookFailed)) {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(ex.ran, tt.ran) {
				t.Errorf("ran %v, want %v", ex.ran, tt.ran)
			}
		})
	}
	if err := RunHooks(context.Background(), nil, hooks[:1], log); !errors.Is(err, ErrHookFailed) {
		t.Errorf("hooks without an executor: %v", err)
	}
}
