package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// Main runs a binary's command line under a context cancelled by SIGINT/SIGTERM (a second
// signal kills the process at once) and exits with the code run returns. A panic that
// escapes run is reported as one line and exit code 1.
func Main(run func(ctx context.Context, args []string) int) {
	code := ExitError
	func() {
		defer func() {
			if p := recover(); p != nil {
				fmt.Fprintf(os.Stderr, "cairn: internal error: %v\n", p)
				code = ExitError
			}
		}()
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		go func() {
			// After the first signal cancels the work, a second one kills the process at once.
			<-ctx.Done()
			stop()
		}()
		code = run(ctx, os.Args[1:])
	}()
	os.Exit(code)
}

// Run executes one command line on the tree build returns and returns the process exit
// code. It never panics: a panic is reported as one line (with a stack trace when -v is
// given) and exit code 1.
func (a *App) Run(ctx context.Context, build func() *cobra.Command, args []string) (code int) {
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(a.Stderr, "cairn: internal error: %v\n", p)
			if a.Verbose > 0 {
				a.Stderr.Write(debug.Stack())
			}
			code = ExitError
		}
		// Profiles are written whatever the outcome: a failing or slow command is what
		// one profiles.
		if err := a.profiles.stop(); err != nil {
			fmt.Fprintf(a.Stderr, "cairn: %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
			if code == 0 {
				code = ExitError
			}
		}
		a.profiles = nil
	}()
	root := build()
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	code = ExitCode(ctx, err)
	if err != nil {
		a.printError(cmd.CommandPath(), err, code)
	}
	return code
}

// printError writes err as "cairn: <message>" plus a hint line when one is known.
func (a *App) printError(cmdPath string, err error, code int) {
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	if code == ExitInterrupted {
		msg = "interrupted"
	}
	fmt.Fprintf(a.Stderr, "cairn: %s\n", msg)
	hint := HintFor(err)
	if hint == "" && code == ExitUsage {
		hint = fmt.Sprintf("run '%s --help' for usage", cmdPath)
	}
	if hint != "" {
		fmt.Fprintf(a.Stderr, "hint: %s\n", hint)
	}
}
