package filehash

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSHA256(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "abc")
	if err := os.WriteFile(path, []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := SHA256(path)
	if want := "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; err != nil || got != want {
		t.Errorf("SHA256: %q, %v; want %q", got, err, want)
	}
	missing := filepath.Join(dir, "missing")
	if _, err := SHA256(missing); err == nil || !os.IsNotExist(err) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := SHA256(dir); err == nil || !strings.HasPrefix(err.Error(), dir+": ") {
		t.Errorf("a folder: %v, want a read error prefixed with its path", err)
	}
}
