package main

import (
	"context"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/internal/cli"
)

func main() {
	cli.Main(func(ctx context.Context, args []string) int { return run(ctx, args, os.Stdin, os.Stdout, os.Stderr) })
}

// run executes one cairn-k8s command line ("cairn k8s" + args) and returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{cli.New(stdin, stdout, stderr, os.Getenv)}
	return a.Run(ctx, a.rootCmd, k8sArgs(args))
}

// k8sArgs turns the arguments of cairn-k8s into those of "cairn k8s": the command tree is
// rooted at "cairn" so help, usage lines and hints read exactly as they do through cairn.
func k8sArgs(args []string) []string {
	if len(args) > 0 && args[0] == "help" {
		return append([]string{"help", "k8s"}, args[1:]...)
	}
	return append([]string{"k8s"}, args...)
}

// app is one invocation of cairn-k8s.
type app struct{ *cli.App }

// rootCmd is "cairn" with only the k8s command: cairn-k8s runs as "cairn k8s".
func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "cairn",
		Short: "Fast, deduplicating, encrypted backups of block volumes (Kubernetes commands)",
		Args:  cobra.ArbitraryArgs,
		RunE:  cli.GroupRunE,
	}
	a.SetupRoot(root)
	root.AddCommand(a.k8sCmd())
	root.CompletionOptions.DisableDefaultCmd = true
	return root
}
