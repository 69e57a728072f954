package backend

import "testing"

func TestHandleValidate(t *testing.T) {
	tests := []struct {
		h  Handle
		ok bool
	}{
		{Handle{Type: Config}, true},
		{Handle{Type: Pack, Name: "ab12"}, true},
		{Handle{Type: Lock, Name: "x"}, true},
		{Handle{Type: Pack}, false},
		{Handle{Type: Pack, Name: "a/b"}, false},
		{Handle{Type: Index, Name: `a\b`}, false},
		{Handle{Type: Snapshot, Name: ".tmp-1"}, false},
		{Handle{Type: Type(-1), Name: "x"}, false},
		{Handle{Type: Lock + 1, Name: "x"}, false},
	}
	for _, tc := range tests {
		if err := tc.h.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v.Validate() = %v, want ok=%v", tc.h, err, tc.ok)
		}
	}
}

func TestWindow(t *testing.T) {
	data := []byte("0123456789")
	for _, tc := range []struct {
		off, n int64
		want   string
		err    string
	}{
		{0, 0, "0123456789", ""},
		{3, 4, "3456", ""},
		{7, 0, "789", ""},
		{10, 0, "", ""},
		{11, 0, "", "offset 11 beyond size 10"},
		{8, 3, "", "short object: wanted 3 bytes at 8, size 10"},
	} {
		w, err := Window(data, tc.off, tc.n)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("Window(%d, %d): err %v, want %q", tc.off, tc.n, err, tc.err)
			}
			continue
		}
		if err != nil || string(w) != tc.want || cap(w) != len(w) {
			t.Errorf("Window(%d, %d) = %q (cap %d), %v; want %q", tc.off, tc.n, w, cap(w), err, tc.want)
		}
	}
}
