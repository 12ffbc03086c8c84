package filecopy

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCopy(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	if err := os.WriteFile(src, []byte("payload\x00\xff"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, []byte("older and longer content"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Copy(src, dst); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dst); string(got) != "payload\x00\xff" {
		t.Errorf("dst holds %q", got)
	}

	err := Copy(filepath.Join(dir, "missing"), dst)
	var pe *fs.PathError
	if !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &pe) || !strings.HasSuffix(pe.Path, "missing") {
		t.Errorf("missing source: %v", err)
	}
	err = Copy(src, filepath.Join(dir, "no", "such", "dir"))
	if !errors.As(err, &pe) || !strings.HasSuffix(pe.Path, "dir") {
		t.Errorf("uncreatable destination: %v", err)
	}
}
