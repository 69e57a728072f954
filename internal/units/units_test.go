package units

import "testing"

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  bool
	}{
		{"4096", 4096, false}, {"64MiB", 64 << 20, false}, {"64k", 64 << 10, false},
		{"1.5G", 3 << 29, false}, {"100MB", 100e6, false}, {" 2 mib ", 2 << 20, false},
		{"", 0, true}, {"MiB", 0, true}, {"12XB", 0, true}, {"-1MiB", 0, true},
		{"1e30", 0, true}, {"99999999TiB", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestFormatBytes(t *testing.T) {
	tests := map[int64]string{0: "0 B", 1023: "1023 B", -1023: "-1023 B", 1024: "1.0 KiB",
		-2048: "-2.0 KiB", 3 << 29: "1.5 GiB", 3 << 40: "3.0 TiB", 1 << 62: "4096.0 PiB"}
	for in, want := range tests {
		if got := FormatBytes(in); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", in, got, want)
		}
	}
}
