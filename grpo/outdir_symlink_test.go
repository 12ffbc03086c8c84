package grpo

import (
	"os"
	"path/filepath"
	"testing"
)

// TestDirSHA256FollowsFileLinks: a folder of links into a blob store (a
// Hugging Face cache snapshot) digests like the folder of the files, and
// copyTree copies the linked files.
func TestDirSHA256FollowsFileLinks(t *testing.T) {
	plain, linked, blobs := t.TempDir(), t.TempDir(), t.TempDir()
	for name, body := range map[string]string{"config.json": "{}", "onnx/m.onnx": "graph"} {
		p := filepath.Join(plain, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		blob := filepath.Join(blobs, filepath.Base(name))
		os.WriteFile(blob, []byte(body), 0o644)
		l := filepath.Join(linked, name)
		os.MkdirAll(filepath.Dir(l), 0o755)
		if err := os.Symlink(blob, l); err != nil {
			t.Fatal(err)
		}
	}
	a, err := dirSHA256(plain)
	if err != nil {
		t.Fatal(err)
	}
	b, err := dirSHA256(linked)
	if err != nil || a != b {
		t.Fatalf("plain %s, linked %s (%v)", a, b, err)
	}
	empty, _ := dirSHA256(t.TempDir())
	if a == empty {
		t.Fatal("digest ignores the files")
	}
	out := t.TempDir()
	if err := copyTree(linked, out, func(string) bool { return true }); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat(filepath.Join(out, "onnx", "m.onnx")); err != nil || !st.Mode().IsRegular() {
		t.Fatalf("copied link: %v %v", st, err)
	}
}
