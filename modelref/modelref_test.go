package modelref

import "testing"

func TestServedName(t *testing.T) {
	for _, tc := range [][4]string{
		{"", "hf:org/tiny@abc", "/cache/models--org--tiny/snapshots/abc", "org/tiny"},
		{"mine", "hf:org/tiny", "/x", "mine"},
		{"", "models/medvlm/", "models/medvlm/", "medvlm"},
	} {
		if got := ServedName(tc[0], tc[1], tc[2]); got != tc[3] {
			t.Errorf("ServedName(%q, %q, %q) = %q, want %q", tc[0], tc[1], tc[2], got, tc[3])
		}
	}
}
