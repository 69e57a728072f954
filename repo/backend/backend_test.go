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
