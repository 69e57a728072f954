package main

import (
	"bufio"
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/internal/cli"
	"github.com/cairnbackup/cairn/repo"
	"github.com/cairnbackup/cairn/repo/backend"
)

// lsTypes maps the object kinds "cairn ls" lists to backend types.
var lsTypes = map[string]backend.Type{
	"snapshots": backend.Snapshot,
	"index":     backend.Index,
	"packs":     backend.Pack,
	"keys":      backend.Key,
	"locks":     backend.Lock,
}

// objectJSON is the JSON shape of one stored object in "cairn ls KIND".
type objectJSON struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
}

// extentJSON is the JSON shape of one extent in "cairn ls SNAPSHOT".
type extentJSON struct {
	Offset int64  `json:"offset"`
	Length int64  `json:"length"`
	Zero   bool   `json:"zero"`
	Blob   string `json:"blob,omitempty"`
}

func (a *app) lsCmd() *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "ls snapshots|index|packs|keys|locks|SNAPSHOT",
		Short: "List stored objects, or the extents of a snapshot",
		Long: `With a kind (snapshots, index, packs, keys or locks), list the stored objects of
that kind: name and size in storage. Objects are encrypted; see 'cairn cat' for
their decoded content.

With a SNAPSHOT ("latest", an ID or a unique ID prefix), list the snapshot's
extents in volume order: offset, length, and either the blob ID holding that
piece of the volume or "zero" for a run of zeros (not stored at all).

--json prints a JSON array.`,
		Example: `  cairn ls packs
  cairn ls snapshots --json
  cairn ls latest --name pvc-data | head
  cairn ls 1a2b3c4d --json | jq '[.[] | select(.zero)] | length'`,
		Args: cli.ExactArgs("KIND|SNAPSHOT"),
		RunE: func(cmd *cobra.Command, args []string) error { return a.runLs(cmd.Context(), args[0], name) },
	}
	cmd.Flags().StringVar(&name, "name", "", `with SNAPSHOT "latest": the newest snapshot of this name`)
	return cmd
}

func (a *app) runLs(ctx context.Context, what, name string) error {
	r, err := a.OpenRepo(ctx)
	if err != nil {
		return err
	}
	defer r.Close()
	if t, ok := lsTypes[what]; ok {
		return a.lsObjects(ctx, r, t)
	}
	snap, err := r.FindSnapshot(ctx, what, name)
	if err != nil {
		return err
	}
	return a.lsExtents(ctx, r, snap.ID)
}

func (a *app) lsObjects(ctx context.Context, r *repo.Repository, t backend.Type) error {
	objs := []objectJSON{}
	err := r.ListObjects(ctx, t, func(name string, size int64) error {
		objs = append(objs, objectJSON{name, size})
		return nil
	})
	if err != nil {
		return err
	}
	if a.JSON {
		return cli.PrintJSON(a.Stdout, objs)
	}
	tw := cli.NewTable(a.Stdout)
	fmt.Fprintln(tw, "NAME\tSIZE")
	for _, o := range objs {
		fmt.Fprintf(tw, "%s\t%d\n", o.Name, o.Size)
	}
	return tw.Flush()
}

// lsExtents streams the extents, so memory stays flat for any volume size.
func (a *app) lsExtents(ctx context.Context, r *repo.Repository, id repo.ID) error {
	if a.JSON {
		return writeExtentsJSON(a.Stdout, func(fn func(repo.Extent) error) error { return r.Extents(ctx, id, fn) })
	}
	// Fixed-width columns rather than a tabwriter, which would buffer the whole listing.
	w := bufio.NewWriter(a.Stdout)
	fmt.Fprintf(w, "%15s  %10s  %s\n", "OFFSET", "LENGTH", "BLOB")
	err := r.Extents(ctx, id, func(e repo.Extent) error {
		blob := "zero"
		if !e.Zero {
			blob = e.Blob.String()
		}
		_, err := fmt.Fprintf(w, "%15d  %10d  %s\n", e.Offset, e.Length, blob)
		return err
	})
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	return err
}

// writeExtentsJSON writes the extents produced by walk as one JSON array, element by element.
func writeExtentsJSON(w io.Writer, walk func(func(repo.Extent) error) error) error {
	bw := bufio.NewWriter(w)
	w = bw
	sep := "["
	err := walk(func(e repo.Extent) error {
		x := extentJSON{Offset: e.Offset, Length: e.Length, Zero: e.Zero}
		if !e.Zero {
			x.Blob = e.Blob.String()
		}
		if _, err := io.WriteString(w, sep); err != nil {
			return err
		}
		sep = ","
		return printJSONRaw(w, x)
	})
	if err != nil {
		return err
	}
	if sep == "[" {
		_, err = io.WriteString(w, "[]\n")
	} else {
		_, err = io.WriteString(w, "]\n")
	}
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	return err
}
