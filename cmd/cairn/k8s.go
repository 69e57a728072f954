package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/spf13/cobra"
)

// k8sBinary is the program that runs "cairn k8s ..." (cmd/cairn-k8s). It is a separate
// binary so that cairn itself does not link client-go (docs/DECISIONS.md §12).
const k8sBinary = "cairn-k8s"

// errNoK8sBinary says cairn-k8s is neither beside cairn nor in $PATH.
var errNoK8sBinary = errors.New("cairn-k8s not found")

func (a *app) k8sCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "k8s",
		Short: "Back up and restore Kubernetes applications (resources and volumes)",
		Long: `Capture a namespace's application, its resources and the data of its
PersistentVolumeClaims (through CSI VolumeSnapshots and mover Jobs), and restore
it in order into the same or another namespace or cluster.

These commands run from a second binary, cairn-k8s, which cairn looks for next
to itself and then in $PATH ("cairn k8s ARGS" runs "cairn-k8s ARGS"; the
container image has both). Install it with
  go install github.com/cairnbackup/cairn/cmd/cairn-k8s@VERSION

Commands (run 'cairn k8s COMMAND --help' for their flags):
  backup     Back up a namespace's application: resources and volume data
  snapshots  List application backups, oldest first
  show       List the manifests and volumes of an application backup
  restore    Restore an application backup into a namespace
  agent      Run in-cluster: back up namespaces on an interval

See docs/KUBERNETES.md.`,
		Example: `  cairn k8s backup --namespace shop
  cairn k8s snapshots --namespace shop
  cairn k8s show latest --namespace shop
  cairn k8s restore 3f2a9c --to-namespace shop-copy --storage-class fast`,
		// Every argument, flags included, belongs to cairn-k8s.
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 || len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
				return cmd.Help()
			}
			path, err := findK8sBinary(os.Executable, exec.LookPath)
			if err != nil {
				return err
			}
			return execK8s(path, args)
		},
	}
}

// findK8sBinary returns the cairn-k8s to run: the one in the directory of the running
// executable (symlinks resolved), else the first in $PATH.
func findK8sBinary(executable func() (string, error), lookPath func(string) (string, error)) (string, error) {
	name := k8sBinary
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	self, err := executable()
	if err == nil {
		self, err = filepath.EvalSymlinks(self)
	}
	if err == nil {
		p := filepath.Join(filepath.Dir(self), name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	if p, err := lookPath(k8sBinary); err == nil {
		return filepath.Abs(p)
	} else if !errors.Is(err, exec.ErrNotFound) && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("look for %s in $PATH: %w", k8sBinary, err)
	}
	return "", fmt.Errorf("%w: the Kubernetes commands run from cairn-k8s, which is neither next to cairn nor in $PATH: "+
		"install it with 'go install github.com/cairnbackup/cairn/cmd/cairn-k8s@%s', or use the container image (it has both)",
		errNoK8sBinary, installVersion())
}

// installVersion is the version to name in "go install ...@V": this cairn's, when it is a
// release.
func installVersion() string {
	if v := buildVersion().Version; strings.HasPrefix(v, "v") {
		return v
	}
	return "latest"
}
