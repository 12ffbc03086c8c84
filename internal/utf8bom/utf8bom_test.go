package utf8bom

import (
	"encoding/json"
	"testing"
)

func TestTrim(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{BOM + `{"a":1}`, `{"a":1}`},
		{`{"a":1}`, `{"a":1}`},
		{BOM + BOM + `1`, BOM + `1`}, // utf-8-sig drops one BOM only
		{"", ""},
		{"\xef\xbb", "\xef\xbb"},
	} {
		if got := string(Trim([]byte(c.in))); got != c.want {
			t.Errorf("Trim(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	var v map[string]int
	if err := json.Unmarshal(Trim([]byte(BOM+`{"a":1}`)), &v); err != nil || v["a"] != 1 {
		t.Fatalf("decode after Trim: %v %v", v, err)
	}
	if Len([]byte(BOM+"x")) != 3 || Len([]byte("x")) != 0 {
		t.Fatal("Len")
	}
}
