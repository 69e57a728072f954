package erasure

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

func TestHeal(t *testing.T) {
	l := Layout{4, 2}
	c := mustCoder(t, l, WithBlockSize(4096))
	pack, id := testPack(123_457, 20), testID(20)
	objs := mustEncode(t, c, id, pack)
	tests := []struct {
		missing []int
		faults  map[int]fault // beyond the missing ones
		fail    bool
	}{
		{missing: []int{0}},
		{missing: []int{5}},
		{missing: []int{1, 4}},
		{missing: []int{3}, faults: map[int]fault{0: faultCorruptPayload}},
		{missing: []int{2}, faults: map[int]fault{5: faultSlow}},
		{missing: []int{}},
		{missing: []int{0, 1}, faults: map[int]fault{2: faultCorruptFooter}, fail: true},
		{missing: []int{0, 1, 2}, fail: true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.missing, tt.faults), func(t *testing.T) {
			faults := map[int]fault{}
			for i, f := range tt.faults {
				faults[i] = f
			}
			for _, i := range tt.missing {
				faults[i] = faultMissing
			}
			got, err := c.Heal(t.Context(), newMemSource(objs, faults), id, tt.missing)
			if tt.fail {
				var tf *TooFewShardsError
				if !errors.As(err, &tf) {
					t.Fatalf("err %v, want TooFewShardsError", err)
				}
				if fmt.Sprint(sortedKeys(tf.Failed)) != fmt.Sprint(sortedKeys(faults)) {
					t.Fatalf("failures %v, want shards %v", err, sortedKeys(faults))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.missing) {
				t.Fatalf("rebuilt %d shards, want %d", len(got), len(tt.missing))
			}
			for _, i := range tt.missing {
				if !bytes.Equal(got[i], objs[i]) {
					t.Fatalf("rebuilt shard %d differs from the original object", i)
				}
			}
		})
	}
	if _, err := c.Heal(t.Context(), newMemSource(objs, nil), id, []int{6}); err == nil {
		t.Error("index outside layout accepted")
	}
	if _, err := c.Heal(t.Context(), newMemSource(objs, nil), id[:3], []int{1}); err == nil {
		t.Error("short pack ID accepted")
	}
	// Shards of another pack are not used to heal this one.
	other := mustEncode(t, c, testID(21), testPack(123_457, 21))
	mixed := [][]byte{objs[0], objs[1], other[2], other[3], objs[4], objs[5]}
	got, err := c.Heal(t.Context(), newMemSource(mixed, nil), id, []int{2, 3})
	if err != nil || !bytes.Equal(got[2], objs[2]) || !bytes.Equal(got[3], objs[3]) {
		t.Fatalf("heal beside foreign shards: %v", err)
	}
	// A shard of the same ID but another geometry is rejected.
	odd := mustEncode(t, c, id, testPack(50_000, 22))
	mixed = [][]byte{objs[0], odd[1], objs[2], objs[3], objs[4], objs[5]}
	bad, err := c.Check(t.Context(), newMemSource(mixed, nil), id)
	if err != nil || len(bad) != 1 || !errors.Is(bad[1], ErrCorrupt) {
		// the first accepted shard fixes the geometry; shard 1 may arrive first, then the
		// others are "wrong" instead: either way exactly one side is a minority of one.
		if len(bad) != 5 {
			t.Fatalf("Check with a foreign-geometry shard: %v, %v", bad, err)
		}
	}
}

func TestCheck(t *testing.T) {
	l := Layout{3, 2}
	c := mustCoder(t, l, WithBlockSize(4096))
	pack, id := testPack(77_777, 30), testID(30)
	objs := mustEncode(t, c, id, pack)
	bad, err := c.Check(t.Context(), newMemSource(objs, nil), id)
	if err != nil || len(bad) != 0 {
		t.Fatalf("healthy: %v, %v", bad, err)
	}
	faults := map[int]fault{1: faultCorruptPayload, 3: faultCorruptFooter, 4: faultError}
	bad, err = c.Check(t.Context(), newMemSource(objs, faults), id)
	if err != nil || fmt.Sprint(sortedKeys(bad)) != "[1 3 4]" || !errors.Is(bad[1], ErrCorrupt) || !errors.Is(bad[3], ErrCorrupt) {
		t.Fatalf("faulty: %v, %v", bad, err)
	}
	// Parity from another pack of the same ID and length: every checksum verifies, but
	// the parity does not match the data.
	swapped := mustEncode(t, c, id, testPack(77_777, 31))
	mixed := [][]byte{objs[0], objs[1], objs[2], swapped[3], objs[4]}
	bad, err = c.Check(t.Context(), newMemSource(mixed, nil), id)
	if !errors.Is(err, ErrCorrupt) || len(bad) != 0 {
		t.Fatalf("parity mismatch: %v, %v", bad, err)
	}
}
