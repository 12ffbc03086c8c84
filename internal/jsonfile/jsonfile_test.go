package jsonfile

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteIndentsAndEndsWithNewline(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.json")
	if err := Write(path, map[string]any{"a": 1, "b": []int{2}}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "{\n  \"a\": 1,\n  \"b\": [\n    2\n  ]\n}\n"
	if string(got) != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm()&^0o022 != 0o644&^0o022 {
		t.Errorf("mode %v, want 0644 less umask", st.Mode().Perm())
	}
}

func TestWriteErrorsNamePath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.json")
	err := Write(path, math.NaN())
	if err == nil || !strings.HasPrefix(err.Error(), path+": json: ") {
		t.Fatalf("encode error %v, want it prefixed by the path", err)
	}
	if _, serr := os.Stat(path); !os.IsNotExist(serr) {
		t.Errorf("a value that cannot be encoded left a file: %v", serr)
	}
	bad := filepath.Join(t.TempDir(), "missing", "v.json")
	err = Write(bad, 1)
	if err == nil || !strings.Contains(err.Error(), bad) {
		t.Fatalf("write error %v, want it to name %s", err, bad)
	}
}
