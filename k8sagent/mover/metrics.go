package mover

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cairnbackup/cairn/repo"
)

// Metrics are the Prometheus metrics of one move (all labelled op="backup"|"restore").
type Metrics struct {
	bytesDone, bytesTotal, zeroBytes, newBytes, storedBytes prometheus.Gauge
	chunks, elapsed, success, finished                      prometheus.Gauge
}

// NewMetrics registers the mover metrics in reg.
func NewMetrics(reg prometheus.Registerer, op string) *Metrics {
	g := func(name, help string) prometheus.Gauge {
		m := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "cairn", Subsystem: "mover", Name: name, Help: help,
			ConstLabels: prometheus.Labels{"op": op}})
		reg.MustRegister(m)
		return m
	}
	return &Metrics{
		bytesDone:   g("bytes_processed", "Bytes of the volume read (backup) or written (restore) so far."),
		bytesTotal:  g("bytes_total", "Size of the volume in bytes (0 when unknown)."),
		zeroBytes:   g("zero_bytes", "Bytes in zero runs and holes."),
		newBytes:    g("new_bytes", "Plaintext bytes not yet in the repository (backup)."),
		storedBytes: g("stored_bytes", "Bytes written to storage (backup)."),
		chunks:      g("chunks", "Chunks processed."),
		elapsed:     g("elapsed_seconds", "Seconds since the move began."),
		success:     g("success", "1 once the move succeeded, 0 otherwise."),
		finished:    g("finished", "1 once the move ended (successfully or not)."),
	}
}

func (m *Metrics) update(p repo.Progress) {
	m.bytesDone.Set(float64(p.BytesDone))
	m.bytesTotal.Set(float64(p.BytesTotal))
	m.zeroBytes.Set(float64(p.ZeroBytes))
	m.newBytes.Set(float64(p.NewBytes))
	m.storedBytes.Set(float64(p.StoredBytes))
	m.chunks.Set(float64(p.Chunks))
	m.elapsed.Set(p.Elapsed.Seconds())
}

func (m *Metrics) finish(ok bool) {
	if ok {
		m.success.Set(1)
	}
	m.finished.Set(1)
}
