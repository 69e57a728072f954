package mover

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/cairnbackup/cairn/repo"
)

// Metrics are the Prometheus gauges of one move, all labelled op="backup"|"restore". They
// are written in the Prometheus text exposition format (version 0.0.4) by a few lines of
// code rather than client_golang: the mover is part of the cairn binary, and client_golang
// with its protobuf dependencies costs every cairn command about 2.5 MiB of resident memory
// (docs/DECISIONS.md §12). Metrics is safe for concurrent use.
type Metrics struct {
	op     string
	gauges [numGauges]atomic.Uint64 // math.Float64bits of each value
}

// gauge indexes Metrics.gauges.
type gauge int

const (
	bytesProcessed gauge = iota
	bytesTotal
	zeroBytes
	newBytes
	storedBytes
	chunks
	elapsedSeconds
	success
	finished
	numGauges
)

// gaugeInfo names and explains each gauge (cairn_mover_NAME).
var gaugeInfo = [numGauges]struct{ name, help string }{
	bytesProcessed: {"bytes_processed", "Bytes of the volume read (backup) or written (restore) so far."},
	bytesTotal:     {"bytes_total", "Size of the volume in bytes (0 when unknown)."},
	zeroBytes:      {"zero_bytes", "Bytes in zero runs and holes."},
	newBytes:       {"new_bytes", "Plaintext bytes not yet in the repository (backup)."},
	storedBytes:    {"stored_bytes", "Bytes written to storage (backup)."},
	chunks:         {"chunks", "Chunks processed."},
	elapsedSeconds: {"elapsed_seconds", "Seconds since the move began."},
	success:        {"success", "1 once the move succeeded, 0 otherwise."},
	finished:       {"finished", "1 once the move ended (successfully or not)."},
}

// MetricsContentType is the Content-Type of the text exposition format.
const MetricsContentType = "text/plain; version=0.0.4; charset=utf-8"

// NewMetrics returns the metrics of a move of kind op, all zero.
func NewMetrics(op string) *Metrics { return &Metrics{op: op} }

func (m *Metrics) set(g gauge, v float64) { m.gauges[g].Store(math.Float64bits(v)) }

// Value returns the current value of the gauge cairn_mover_NAME, and whether it exists.
func (m *Metrics) Value(name string) (float64, bool) {
	for g, info := range gaugeInfo {
		if "cairn_mover_"+info.name == name {
			return math.Float64frombits(m.gauges[g].Load()), true
		}
	}
	return 0, false
}

// WriteTo writes every gauge in the Prometheus text exposition format.
func (m *Metrics) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	label := strconv.Quote(m.op) // op is "backup" or "restore"; Quote escapes like the format
	for g, info := range gaugeInfo {
		name := "cairn_mover_" + info.name
		v := math.Float64frombits(m.gauges[g].Load())
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n%s{op=%s} %s\n", name, info.help, name, name, label,
			strconv.FormatFloat(v, 'g', -1, 64))
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

// ServeHTTP serves the metrics (GET /metrics).
func (m *Metrics) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", MetricsContentType)
	_, _ = m.WriteTo(w)
}

func (m *Metrics) update(p repo.Progress) {
	m.set(bytesProcessed, float64(p.BytesDone))
	m.set(bytesTotal, float64(p.BytesTotal))
	m.set(zeroBytes, float64(p.ZeroBytes))
	m.set(newBytes, float64(p.NewBytes))
	m.set(storedBytes, float64(p.StoredBytes))
	m.set(chunks, float64(p.Chunks))
	m.set(elapsedSeconds, p.Elapsed.Seconds())
}

func (m *Metrics) finish(ok bool) {
	if ok {
		m.set(success, 1)
	}
	m.set(finished, 1)
}
