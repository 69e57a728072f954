package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
)

func main() {
	code := exitError
	func() {
		defer func() {
			if p := recover(); p != nil {
				fmt.Fprintf(os.Stderr, "cairn: internal error: %v\n", p)
				code = exitError
			}
		}()
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		go func() {
			// After the first signal cancels the work, a second one kills cairn at once.
			<-ctx.Done()
			stop()
		}()
		code = run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	}()
	os.Exit(code)
}

// run executes one cairn command line and returns the process exit code. It never panics:
// a panic is reported as one line (with a stack trace when -v is given) and exit code 1.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return newApp(stdin, stdout, stderr, os.Getenv).run(ctx, args)
}

func (a *app) run(ctx context.Context, args []string) (code int) {
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(a.stderr, "cairn: internal error: %v\n", p)
			if a.verbose > 0 {
				a.stderr.Write(debug.Stack())
			}
			code = exitError
		}
	}()
	root := a.rootCmd()
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	code = exitCode(ctx, err)
	if err != nil {
		a.printError(cmd.CommandPath(), err, code)
	}
	return code
}

// printError writes err as "cairn: <message>" plus a hint line when one is known.
func (a *app) printError(cmdPath string, err error, code int) {
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	if code == exitInterrupted {
		msg = "interrupted"
	}
	fmt.Fprintf(a.stderr, "cairn: %s\n", msg)
	hint := hintFor(err)
	if hint == "" && code == exitUsage {
		hint = fmt.Sprintf("run '%s --help' for usage", cmdPath)
	}
	if hint != "" {
		fmt.Fprintf(a.stderr, "hint: %s\n", hint)
	}
}
