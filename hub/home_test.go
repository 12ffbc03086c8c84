package hub

import (
	"path/filepath"
	"testing"
)

// TestCacheRootsFromHome: with only HOME set, the hub cache, the import
// root and a "~/" path all resolve under it.
func TestCacheRootsFromHome(t *testing.T) {
	home := t.TempDir()
	getenv := func(k string) string {
		if k == "HOME" {
			return home
		}
		return ""
	}
	if got, err := CacheDir(getenv); err != nil || got != filepath.Join(home, ".cache", "huggingface", "hub") {
		t.Errorf("CacheDir: %q, %v", got, err)
	}
	if got, err := ImportRoot(getenv); err != nil || got != filepath.Join(home, ".cache", "medbench", "imports") {
		t.Errorf("ImportRoot: %q, %v", got, err)
	}
	if got, err := expandHome("~/x", getenv); err != nil || got != filepath.Join(home, "x") {
		t.Errorf("expandHome: %q, %v", got, err)
	}
	if got, err := expandHome("/abs", getenv); err != nil || got != "/abs" {
		t.Errorf("expandHome of an absolute path: %q, %v", got, err)
	}
}
