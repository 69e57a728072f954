package main

import (
	"bytes"
	"context"
	"io"
	"testing"
)

// result is the outcome of one in-process cairn run.
type result struct {
	code           int
	stdout, stderr string
}

// harness runs cairn in-process with a private environment (never the real one).
type harness struct {
	t     *testing.T
	env   map[string]string
	stdin io.Reader
	ctx   context.Context
}

func newCLI(t *testing.T, env map[string]string) *harness {
	t.Helper()
	if env == nil {
		env = map[string]string{}
	}
	return &harness{t: t, env: env, ctx: context.Background()}
}

// with returns a copy of c with extra environment variables.
func (c *harness) with(kv ...string) *harness {
	env := make(map[string]string, len(c.env)+len(kv)/2)
	for k, v := range c.env {
		env[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		env[kv[i]] = kv[i+1]
	}
	return &harness{t: c.t, env: env, ctx: c.ctx, stdin: c.stdin}
}

func (c *harness) app(stdout, stderr io.Writer) *app {
	stdin := c.stdin
	if stdin == nil {
		stdin = bytes.NewReader(nil)
	}
	return newApp(stdin, stdout, stderr, func(k string) string { return c.env[k] })
}

func (c *harness) run(args ...string) result {
	c.t.Helper()
	var out, errb bytes.Buffer
	code := c.app(&out, &errb).run(c.ctx, args)
	return result{code, out.String(), errb.String()}
}

// ok runs args and fails the test unless the exit code is 0.
func (c *harness) ok(args ...string) result {
	c.t.Helper()
	r := c.run(args...)
	if r.code != 0 {
		c.t.Fatalf("cairn %q: exit %d\nstdout: %s\nstderr: %s", args, r.code, r.stdout, r.stderr)
	}
	return r
}

// want runs args and fails the test unless the exit code is code.
func (c *harness) want(code int, args ...string) result {
	c.t.Helper()
	r := c.run(args...)
	if r.code != code {
		c.t.Fatalf("cairn %q: exit %d, want %d\nstdout: %s\nstderr: %s", args, r.code, code, r.stdout, r.stderr)
	}
	return r
}
