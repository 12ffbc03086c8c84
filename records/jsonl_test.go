package records

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadJSONL checks the shared torn-tail policy on a type other than
// ScoredSample: a BOM and blank lines are skipped, an unparsable
// unterminated last line is a torn tail, a parsable one is kept (torn), a
// bad line elsewhere is an error naming the file and line under the
// caller's prefix, and add's error comes back unchanged.
func TestReadJSONL(t *testing.T) {
	dir := t.TempDir()
	read := func(content string, add func(int, int) error) ([]int, bool, error) {
		p := filepath.Join(dir, "x.jsonl")
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		var got []int
		torn, err := ReadJSONL(p, "pkg", func(b []byte) (v int, err error) {
			err = json.Unmarshal(b, &v)
			return v, err
		}, func(line, v int) error {
			if add != nil {
				if err := add(line, v); err != nil {
					return err
				}
			}
			got = append(got, v)
			return nil
		})
		return got, torn, err
	}
	cases := []struct {
		content  string
		want     []int
		wantTorn bool
		wantErr  string
	}{
		{"\ufeff1\n\n2\n", []int{1, 2}, false, ""},
		{"1\n2\n3", []int{1, 2, 3}, true, ""},
		{"1\n2\n{\"x", []int{1, 2}, true, ""},
		{"1\nbad\n3\n", nil, false, "pkg: " + filepath.Join(dir, "x.jsonl") + " line 2: "},
	}
	for _, c := range cases {
		got, torn, err := read(c.content, nil)
		if c.wantErr != "" {
			if err == nil || !strings.HasPrefix(err.Error(), c.wantErr) {
				t.Errorf("%q: err %v, want prefix %q", c.content, err, c.wantErr)
			}
			continue
		}
		if err != nil || torn != c.wantTorn || len(got) != len(c.want) {
			t.Errorf("%q: %v torn %v err %v, want %v torn %v", c.content, got, torn, err, c.want, c.wantTorn)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%q: %v, want %v", c.content, got, c.want)
			}
		}
	}
	stop := errors.New("stop")
	if _, _, err := read("1\n2", func(line, v int) error {
		if line == 2 {
			return stop
		}
		return nil
	}); err != stop {
		t.Errorf("add error on the unterminated last line: %v, want it unchanged", err)
	}
}
