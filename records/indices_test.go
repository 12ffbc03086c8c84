package records

import (
	"reflect"
	"testing"
)

func TestEncodeDecodeIndices(t *testing.T) {
	cases := []struct {
		xs   []int
		want string
	}{
		{nil, ""},
		{[]int{7}, "7"},
		{[]int{0, 1, 2, 3}, "0-3"},
		{[]int{300, 301, 302, 0, 1, 5}, "300-302,0-1,5"},
		{[]int{5, 3, 4}, "5,3-4"},
	}
	for _, c := range cases {
		got := EncodeIndices(c.xs)
		if got != c.want {
			t.Errorf("EncodeIndices(%v) = %q, want %q", c.xs, got, c.want)
		}
		back, err := DecodeIndices(got, 100)
		if err != nil || !reflect.DeepEqual(back, c.xs) {
			t.Errorf("DecodeIndices(%q) = %v, %v; want %v", got, back, err, c.xs)
		}
	}
	for _, bad := range []string{"a", "3-1", "-1", "1,,2", "1-", "0-100"} {
		if _, err := DecodeIndices(bad, 100); err == nil {
			t.Errorf("DecodeIndices(%q): no error", bad)
		}
	}
	if _, err := DecodeIndices("0-99", 100); err != nil {
		t.Errorf("100 numbers at max 100: %v", err)
	}
}
