package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/internal/cli"
	"github.com/cairnbackup/cairn/repo"
)

// version is set at build time: go build -ldflags "-X main.version=v1.2.3".
var version = ""

// versionInfo is the JSON shape of "cairn version".
type versionInfo struct {
	Version       string `json:"version"`
	Revision      string `json:"revision,omitempty"`
	Modified      bool   `json:"modified,omitempty"`
	GoVersion     string `json:"go_version"`
	Platform      string `json:"platform"`
	FormatVersion int    `json:"format_version"`
}

func buildVersion() versionInfo {
	v := versionInfo{Version: version, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH,
		FormatVersion: repo.FormatVersion}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Revision = s.Value
			case "vcs.modified":
				v.Modified = s.Value == "true"
			}
		}
	}
	if v.Version == "" {
		v.Version = "dev"
	}
	return v
}

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the cairn version",
		Long: `Print cairn's version, the Go toolchain and platform it was built for, and the
repository format version it reads and writes.`,
		Example: `  cairn version
  cairn version --json`,
		Args: cli.ExactArgs(),
		RunE: func(*cobra.Command, []string) error {
			v := buildVersion()
			if a.JSON {
				return cli.PrintJSON(a.Stdout, v)
			}
			rev := ""
			if v.Revision != "" {
				rev = " " + short(v.Revision)
				if v.Modified {
					rev += "+dirty"
				}
			}
			_, err := fmt.Fprintf(a.Stdout, "cairn %s%s (%s, %s, repository format %d)\n", v.Version, rev, v.GoVersion, v.Platform, v.FormatVersion)
			return err
		},
	}
}
