package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/cairnbackup/cairn/repo"
)

// PrintJSON writes v as one line of JSON.
func PrintJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode JSON: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// NewTable returns a tabwriter for human tables.
func NewTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) }

// SnapshotJSON is the JSON shape of a snapshot in listings and summaries.
type SnapshotJSON struct {
	ID       string           `json:"id"`
	ShortID  string           `json:"short_id"`
	Time     time.Time        `json:"time"`
	Hostname string           `json:"hostname"`
	Name     string           `json:"name"`
	Tags     []string         `json:"tags"`
	Size     int64            `json:"size"`
	Stats    repo.BackupStats `json:"stats"`
}

// ToSnapshotJSON converts s to its JSON shape (tags are never null).
func ToSnapshotJSON(s *repo.Snapshot) SnapshotJSON {
	tags := s.Tags
	if tags == nil {
		tags = []string{}
	}
	return SnapshotJSON{ID: s.ID.String(), ShortID: s.ID.Short(), Time: s.Time, Hostname: s.Hostname,
		Name: s.Name, Tags: tags, Size: s.Size, Stats: s.Stats}
}
