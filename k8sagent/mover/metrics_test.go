package mover

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/cairnbackup/cairn/repo"
)

// TestMetricsExposition checks the hand-written exposition parses as the Prometheus text
// format, with every gauge, its label and its value.
func TestMetricsExposition(t *testing.T) {
	tests := []struct {
		name   string
		op     string
		update *repo.Progress
		ok     *bool
		want   map[string]float64
	}{
		{name: "fresh", op: "backup", want: map[string]float64{"cairn_mover_bytes_processed": 0, "cairn_mover_success": 0, "cairn_mover_finished": 0}},
		{name: "progress", op: "restore",
			update: &repo.Progress{BytesDone: 1 << 40, BytesTotal: 3 << 40, ZeroBytes: 7, NewBytes: 5, StoredBytes: 3, Chunks: 12, Elapsed: 1500 * time.Millisecond},
			want: map[string]float64{"cairn_mover_bytes_processed": 1 << 40, "cairn_mover_bytes_total": 3 << 40, "cairn_mover_zero_bytes": 7,
				"cairn_mover_new_bytes": 5, "cairn_mover_stored_bytes": 3, "cairn_mover_chunks": 12, "cairn_mover_elapsed_seconds": 1.5}},
		{name: "succeeded", op: "backup", ok: new(true), want: map[string]float64{"cairn_mover_success": 1, "cairn_mover_finished": 1}},
		{name: "failed", op: "backup", ok: new(false), want: map[string]float64{"cairn_mover_success": 0, "cairn_mover_finished": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMetrics(tt.op)
			if tt.update != nil {
				m.update(*tt.update)
			}
			if tt.ok != nil {
				m.finish(*tt.ok)
			}
			srv := httptest.NewServer(m)
			defer srv.Close()
			resp, err := http.Get(srv.URL + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if ct := resp.Header.Get("Content-Type"); ct != MetricsContentType {
				t.Errorf("Content-Type %q", ct)
			}
			body, _ := io.ReadAll(resp.Body)
			p := expfmt.NewTextParser(model.UTF8Validation)
			families, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
			if err != nil {
				t.Fatalf("not the text format: %v\n%s", err, body)
			}
			if len(families) != int(numGauges) {
				t.Errorf("%d families, want %d", len(families), numGauges)
			}
			for name, mf := range families {
				if mf.GetHelp() == "" || len(mf.GetMetric()) != 1 {
					t.Errorf("%s: help %q, %d samples", name, mf.GetHelp(), len(mf.GetMetric()))
					continue
				}
				lbl := mf.GetMetric()[0].GetLabel()
				if len(lbl) != 1 || lbl[0].GetName() != "op" || lbl[0].GetValue() != tt.op {
					t.Errorf("%s: labels %v, want op=%q", name, lbl, tt.op)
				}
			}
			for name, want := range tt.want {
				mf, ok := families[name]
				if !ok {
					t.Errorf("%s missing", name)
					continue
				}
				if got := mf.GetMetric()[0].GetGauge().GetValue(); got != want {
					t.Errorf("%s = %v, want %v", name, got, want)
				}
				if v, _ := m.Value(name); v != want {
					t.Errorf("Value(%s) = %v, want %v", name, v, want)
				}
			}
		})
	}
	if _, ok := NewMetrics("backup").Value("cairn_mover_nope"); ok {
		t.Error("Value of an unknown metric reported ok")
	}
}

func BenchmarkMetricsWriteTo(b *testing.B) {
	m := NewMetrics("backup")
	m.update(repo.Progress{BytesDone: 1 << 30, BytesTotal: 1 << 31, Elapsed: time.Minute})
	n, _ := m.WriteTo(io.Discard)
	b.SetBytes(n)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = m.WriteTo(io.Discard)
	}
}
