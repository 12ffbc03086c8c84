package metrics

import (
	"strings"
	"testing"
)

func TestParsePValues(t *testing.T) {
	ps, err := ParsePValues("0.01, 0.5,1")
	if err != nil || len(ps) != 3 || ps[0] != 0.01 || ps[1] != 0.5 || ps[2] != 1 {
		t.Errorf("ParsePValues = %v, %v", ps, err)
	}
	for _, bad := range []string{"0.1,x", "1.5", "0.1,", "-0.1"} {
		if _, err := ParsePValues(bad); err == nil || !strings.HasSuffix(err.Error(), "is not a p-value in [0, 1]") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
