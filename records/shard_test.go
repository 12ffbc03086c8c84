package records

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestSameShard(t *testing.T) {
	dir := t.TempDir()
	s := &Shard{Index: 1, Count: 4, Samples: 3, Total: 10, Selection: "0-9"}
	if err := SameShard(filepath.Join(dir, "none"), s); err != nil {
		t.Errorf("no run yet: %v", err)
	}
	if err := WriteJSON(filepath.Join(dir, ManifestFile), Manifest{Shard: s}); err != nil {
		t.Fatal(err)
	}
	if err := SameShard(dir, &Shard{Index: 1, Count: 4, Samples: 3, Total: 10, Selection: "0-9"}); err != nil {
		t.Errorf("same shard: %v", err)
	}
	for _, other := range []*Shard{nil, {Index: 2, Count: 4, Samples: 3, Total: 10, Selection: "0-9"}, {Index: 1, Count: 4, Samples: 3, Total: 10, Selection: "0-8"}} {
		if err := SameShard(dir, other); err == nil || !strings.Contains(err.Error(), "shard differs") {
			t.Errorf("resume as %+v: %v", other, err)
		}
	}
}
