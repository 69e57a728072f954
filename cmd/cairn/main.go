package main

import (
	"context"
	"io"
	"os"

	"github.com/cairnbackup/cairn/internal/cli"
)

func main() {
	cli.Main(func(ctx context.Context, args []string) int { return run(ctx, args, os.Stdin, os.Stdout, os.Stderr) })
}

// run executes one cairn command line and returns the process exit code. It never panics:
// a panic is reported as one line (with a stack trace when -v is given) and exit code 1.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return newApp(stdin, stdout, stderr, os.Getenv).run(ctx, args)
}

func (a *app) run(ctx context.Context, args []string) int { return a.Run(ctx, a.rootCmd, args) }
