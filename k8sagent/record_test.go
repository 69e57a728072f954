package k8sagent

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func testRecord() *AppBackup {
	return &AppBackup{Version: RecordVersion, ID: "0123456789abcdef", Namespace: "shop", Time: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Objects: []Object{
			obj(map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": "web", "namespace": "shop"},
				"spec": map[string]any{"ports": []any{map[string]any{"port": int64(80)}}}}),
			obj(map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "cfg", "namespace": "shop"}}),
		},
		Volumes: []Volume{{Claim: "data", Snapshot: strings.Repeat("ab", 32), Size: 4096, VolumeMode: "Filesystem", StorageClass: "fast"}},
	}
}

func TestRecordRoundTrip(t *testing.T) {
	rec := testRecord()
	b, err := EncodeRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeRecord(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	sortObjects(rec.Objects)
	if !reflect.DeepEqual(got, rec) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, rec)
	}
	b2, _ := EncodeRecord(got)
	if !bytes.Equal(b, b2) {
		t.Error("encoding is not canonical")
	}
}

func TestRecordInvalid(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*AppBackup)
	}{
		{"version", func(r *AppBackup) { r.Version = 9 }},
		{"id", func(r *AppBackup) { r.ID = "XYZ" }},
		{"namespace", func(r *AppBackup) { r.Namespace = "" }},
		{"duplicate claim", func(r *AppBackup) { r.Volumes = append(r.Volumes, r.Volumes[0]) }},
		{"snapshot id", func(r *AppBackup) { r.Volumes[0].Snapshot = "abc" }},
		{"mode", func(r *AppBackup) { r.Volumes[0].VolumeMode = "Raw" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testRecord()
			tt.mutate(r)
			if _, err := EncodeRecord(r); !errors.Is(err, ErrBadRecord) {
				t.Errorf("EncodeRecord: %v, want ErrBadRecord", err)
			}
		})
	}
	for _, in := range []string{"", "{}", `{"record":null}`, `{"record":{"version":1}}`, "not json",
		`{"record":{"version":1,"id":"0123456789abcdef","namespace":"a"},"objects":[{"kind":"X"}]}`} {
		if _, err := DecodeRecord(strings.NewReader(in)); err == nil {
			t.Errorf("DecodeRecord(%q) accepted", in)
		}
	}
}

func FuzzDecodeRecord(f *testing.F) {
	b, _ := EncodeRecord(testRecord())
	f.Add(b)
	f.Add([]byte(`{"record":{"version":1,"id":"0123456789abcdef","namespace":"a","time":"2025-01-01T00:00:00Z"},"objects":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := DecodeRecord(bytes.NewReader(data))
		if err != nil {
			return
		}
		enc, err := EncodeRecord(rec)
		if err != nil {
			t.Fatalf("accepted record does not re-encode: %v", err)
		}
		again, err := DecodeRecord(bytes.NewReader(enc))
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		enc2, err := EncodeRecord(again)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("record encoding is not stable: %v", err)
		}
	})
}
