package hub

import (
	"strings"
	"testing"
)

func TestParseRefRevision(t *testing.T) {
	for _, c := range []struct {
		s, rev   string
		hasRev   bool
		id, want string
	}{
		{"org/name", "", false, "org/name", ""},
		{"hf:org/name@v1", "", false, "org/name", "v1"},
		{"org/name", "dev", true, "org/name", "dev"},
	} {
		r, err := ParseRefRevision(c.s, Dataset, c.rev, c.hasRev)
		if err != nil || r.ID != c.id || r.Revision != c.want || r.Type != Dataset {
			t.Errorf("ParseRefRevision(%q, %q, %v) = %+v, %v", c.s, c.rev, c.hasRev, r, err)
		}
	}
	if _, err := ParseRefRevision("org/name@v1", Model, "v2", true); err == nil || !strings.Contains(err.Error(), "give the revision once") {
		t.Errorf("two revisions: %v", err)
	}
	if _, err := ParseRefRevision("org/name", Model, "", true); err == nil {
		t.Error("an empty --revision is accepted")
	}
}
