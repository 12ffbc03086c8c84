package hub_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medbench/medbench/hub"
	"github.com/medbench/medbench/hub/hubtest"
)

func randBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// newClient is a client of srv with its cache in a temp dir.
func newClient(t *testing.T, srv *hubtest.Server, env map[string]string) (*hub.Client, *bytes.Buffer) {
	t.Helper()
	cache := t.TempDir()
	getenv := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		switch k {
		case "HF_ENDPOINT":
			return srv.URL
		case "HF_HUB_CACHE":
			return cache
		}
		return ""
	}
	c, err := hub.FromEnv(getenv)
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	c.Progress = &log
	c.RetryDelay = 0
	return c, &log
}

type fixtureRepo struct {
	commit  string
	config  []byte // git file
	weights []byte // LFS file
	onnx    []byte // LFS file in a subfolder
}

func addRepo(srv *hubtest.Server, kind, id, label string, gated bool) fixtureRepo {
	f := fixtureRepo{commit: hubtest.Commit(label), config: []byte(`{"model_type":"qwen2_vl","label":"` + label + `"}`),
		weights: randBytes(300_000, 1), onnx: randBytes(50_000, 2)}
	srv.SetRepo(kind, id, &hubtest.Repo{Gated: gated, Branches: map[string]string{"main": f.commit},
		Commits: map[string]map[string][]byte{f.commit: {"config.json": f.config, "model.safetensors": f.weights, "onnx/model.onnx": f.onnx}}})
	return f
}

func countPaths(reqs []hubtest.Request, sub string) int {
	n := 0
	for _, r := range reqs {
		if strings.Contains(r.Path, sub) {
			n++
		}
	}
	return n
}

func readSnap(t *testing.T, dir, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDownloadLayoutAndCacheReuse(t *testing.T) {
	srv := hubtest.New()
	defer srv.Close()
	f := addRepo(srv, "model", "org/tiny", "v1", false)
	c, _ := newClient(t, srv, nil)
	ctx := context.Background()
	snap, err := c.Download(ctx, hub.Repo{Type: hub.Model, ID: "org/tiny"}, hub.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if snap.Commit != f.commit || snap.Dir != filepath.Join(c.CacheDir, "models--org--tiny", "snapshots", f.commit) {
		t.Fatalf("snapshot %+v", snap)
	}
	for name, want := range map[string][]byte{"config.json": f.config, "model.safetensors": f.weights, "onnx/model.onnx": f.onnx} {
		if !bytes.Equal(readSnap(t, snap.Dir, name), want) {
			t.Errorf("%s: contents differ", name)
		}
		link, err := os.Readlink(filepath.Join(snap.Dir, name))
		if err != nil {
			t.Fatalf("%s is not a symlink: %v", name, err)
		}
		etag := hubtest.SHA256(want)
		if name == "config.json" {
			etag = hubtest.GitSHA1(want)
		}
		wantLink := "../../blobs/" + etag
		if name == "onnx/model.onnx" {
			wantLink = "../../../blobs/" + etag
		}
		if link != wantLink {
			t.Errorf("%s -> %s, want relative link %s", name, link, wantLink)
		}
	}
	ref, err := os.ReadFile(filepath.Join(c.CacheDir, "models--org--tiny", "refs", "main"))
	if err != nil || string(ref) != f.commit {
		t.Fatalf("refs/main = %q, %v", ref, err)
	}
	reqs := srv.Requests()
	// 1 revision + 3 HEAD + 3 GET (the 2 LFS GETs redirected to the CDN).
	if snap.Requests != 7 || len(reqs) != 9 || countPaths(reqs, "/api/models/org/tiny/revision/main") != 1 || countPaths(reqs, "/cdn/") != 2 {
		t.Fatalf("requests %d (counted %d): %+v", len(reqs), snap.Requests, reqs)
	}

	// A pinned commit with a complete snapshot: no request at all.
	srv.Reset()
	snap2, err := c.Download(ctx, hub.Repo{Type: hub.Model, ID: "org/tiny", Revision: f.commit}, hub.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Requests()); n != 0 || snap2.Requests != 0 || snap2.Dir != snap.Dir || len(snap2.Files) != 3 {
		t.Fatalf("cached commit: %d requests, snapshot %+v", n, snap2)
	}
	// A branch is re-checked with one revision request; no file moves.
	snap3, err := c.Download(ctx, hub.Repo{Type: hub.Model, ID: "org/tiny"}, hub.Options{Include: []string{"*.json"}})
	if err != nil {
		t.Fatal(err)
	}
	reqs = srv.Requests()
	if len(reqs) != 1 || countPaths(reqs, "/revision/main") != 1 || len(snap3.Files) != 1 || snap3.Files[0] != "config.json" {
		t.Fatalf("branch re-check: %+v, files %v", reqs, snap3.Files)
	}
}

func TestIncludeExcludeSelectOnlyThoseFiles(t *testing.T) {
	srv := hubtest.New()
	defer srv.Close()
	addRepo(srv, "dataset", "org/data", "d1", false)
	c, _ := newClient(t, srv, nil)
	snap, err := c.Download(context.Background(), hub.Repo{Type: hub.Dataset, ID: "org/data"},
		hub.Options{Include: []string{"*.json", "onnx/"}, Exclude: []string{"*.onnx"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Files) != 1 || snap.Files[0] != "config.json" {
		t.Fatalf("files %v", snap.Files)
	}
	if !strings.Contains(snap.Dir, "datasets--org--data") || countPaths(srv.Requests(), "/datasets/org/data/resolve/") != 2 ||
		countPaths(srv.Requests(), "/api/datasets/org/data/revision/main") != 1 {
		t.Fatalf("dataset URLs: %s %+v", snap.Dir, srv.Requests())
	}
	if _, err := os.Lstat(filepath.Join(snap.Dir, "model.safetensors")); !os.IsNotExist(err) {
		t.Fatalf("unselected file downloaded: %v", err)
	}
	_, err = c.Download(context.Background(), hub.Repo{Type: hub.Dataset, ID: "org/data"}, hub.Options{Include: []string{"*.parquet"}})
	if err == nil || !strings.Contains(err.Error(), "no file matches") {
		t.Fatalf("want no-match error, got %v", err)
	}
}

func TestInterruptedTransferResumesWithRange(t *testing.T) {
	srv := hubtest.New()
	defer srv.Close()
	f := addRepo(srv, "model", "org/tiny", "v1", false)
	c, _ := newClient(t, srv, nil)
	c.Retries = 0
	srv.CutAfter(f.weights, 100_000)
	r := hub.Repo{Type: hub.Model, ID: "org/tiny"}
	_, err := c.Download(context.Background(), r, hub.Options{Include: []string{"model.safetensors"}})
	if err == nil || !strings.Contains(err.Error(), "resumes on the next run") {
		t.Fatalf("want an interrupted-transfer error, got %v", err)
	}
	inc := filepath.Join(c.CacheDir, "models--org--tiny", "blobs", hubtest.SHA256(f.weights)+".incomplete")
	st, err := os.Stat(inc)
	if err != nil || st.Size() != 100_000 {
		t.Fatalf("partial blob: %v, %v", st, err)
	}
	srv.Reset()
	snap, err := c.Download(context.Background(), r, hub.Options{Include: []string{"model.safetensors"}})
	if err != nil {
		t.Fatal(err)
	}
	var ranged bool
	for _, q := range srv.Requests() {
		if strings.HasPrefix(q.Path, "/cdn/") && q.Range == "bytes=100000-" {
			ranged = true
		}
	}
	if !ranged {
		t.Fatalf("no Range request: %+v", srv.Requests())
	}
	if got := readSnap(t, snap.Dir, "model.safetensors"); hubtest.SHA256(got) != hubtest.SHA256(f.weights) {
		t.Fatal("resumed file differs")
	}
	if _, err := os.Stat(inc); !os.IsNotExist(err) {
		t.Fatalf(".incomplete left behind: %v", err)
	}
}

func TestInterruptedTransferRetriesWithinOneCall(t *testing.T) {
	srv := hubtest.New()
	defer srv.Close()
	f := addRepo(srv, "model", "org/tiny", "v1", false)
	c, log := newClient(t, srv, nil)
	srv.CutAfter(f.weights, 12_345)
	snap, err := c.Download(context.Background(), hub.Repo{Type: hub.Model, ID: "org/tiny"}, hub.Options{Include: []string{"model.safetensors"}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readSnap(t, snap.Dir, "model.safetensors"), f.weights) {
		t.Fatal("contents differ")
	}
	n := 0
	for _, q := range srv.Requests() {
		if strings.HasPrefix(q.Path, "/cdn/") && q.Range == "bytes=12345-" {
			n++
		}
	}
	if n != 1 || !strings.Contains(log.String(), "resuming") {
		t.Fatalf("want one ranged retry, got %d; log %s", n, log)
	}
}

func TestWrongHashDeletesTheBlob(t *testing.T) {
	srv := hubtest.New()
	defer srv.Close()
	f := addRepo(srv, "model", "org/tiny", "v1", false)
	c, _ := newClient(t, srv, nil)
	bad := randBytes(len(f.weights), 99)
	srv.Corrupt(f.weights, bad)
	_, err := c.Download(context.Background(), hub.Repo{Type: hub.Model, ID: "org/tiny"}, hub.Options{Include: []string{"model.safetensors"}})
	if !errors.Is(err, hub.ErrHashMismatch) {
		t.Fatalf("want hash mismatch, got %v", err)
	}
	msg := err.Error()
	for _, want := range []string{"model.safetensors", hubtest.SHA256(f.weights), hubtest.SHA256(bad), "deleted"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	blobs, _ := os.ReadDir(filepath.Join(c.CacheDir, "models--org--tiny", "blobs"))
	if len(blobs) != 0 {
		t.Fatalf("bad blob kept: %v", blobs)
	}
	if _, err := os.Lstat(filepath.Join(c.CacheDir, "models--org--tiny", "snapshots", f.commit, "model.safetensors")); !os.IsNotExist(err) {
		t.Fatalf("snapshot links a bad blob: %v", err)
	}
}

func TestGitBlobSHA1MatchesGit(t *testing.T) {
	// `printf 'hello\n' | git hash-object --stdin`
	if got := hubtest.GitSHA1([]byte("hello\n")); got != "ce013625030ba8dba906f756967f9e9ca394464a" {
		t.Fatalf("git blob sha1 = %s", got)
	}
	srv := hubtest.New()
	defer srv.Close()
	commit := hubtest.Commit("g")
	srv.SetRepo("model", "org/git", &hubtest.Repo{Branches: map[string]string{"main": commit},
		Commits: map[string]map[string][]byte{commit: {"README.md": []byte("hello\n")}}})
	c, _ := newClient(t, srv, nil)
	snap, err := c.Download(context.Background(), hub.Repo{Type: hub.Model, ID: "org/git"}, hub.Options{})
	if err != nil {
		t.Fatal(err)
	}
	link, _ := os.Readlink(filepath.Join(snap.Dir, "README.md"))
	if link != "../../blobs/ce013625030ba8dba906f756967f9e9ca394464a" {
		t.Fatalf("git file blob %q", link)
	}
	// A git file whose bytes do not match its ETag is refused too.
	srv.SetRepo("model", "org/git", &hubtest.Repo{Branches: map[string]string{"main": commit},
		Commits: map[string]map[string][]byte{commit: {"README.md": []byte("hello\n"), "notes.txt": []byte("x")}}})
	srv.Corrupt([]byte("x"), []byte("y"))
	_, err = c.Download(context.Background(), hub.Repo{Type: hub.Model, ID: "org/git"}, hub.Options{})
	if !errors.Is(err, hub.ErrHashMismatch) || !strings.Contains(err.Error(), "git blob sha1") || !strings.Contains(err.Error(), hubtest.GitSHA1([]byte("y"))) {
		t.Fatalf("corrupt git file: %v", err)
	}
}

func TestGatedRepoNeedsTokenAndNeverLeaksIt(t *testing.T) {
	srv := hubtest.New()
	defer srv.Close()
	const token = "hf_SECRETtoken123"
	srv.Token = token
	addRepo(srv, "model", "org/gated", "g1", true)
	r := hub.Repo{Type: hub.Model, ID: "org/gated"}

	c, _ := newClient(t, srv, nil)
	_, err := c.Download(context.Background(), r, hub.Options{})
	if !errors.Is(err, hub.ErrUnauthorized) || !strings.Contains(err.Error(), "HF_TOKEN") || !strings.Contains(err.Error(), "accept the licence") ||
		!strings.Contains(err.Error(), "/org/gated") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("want a one-line gated error, got %v", err)
	}

	wrong, _ := newClient(t, srv, map[string]string{"HF_TOKEN": "hf_wrong"})
	_, err = wrong.Download(context.Background(), r, hub.Options{})
	if !errors.Is(err, hub.ErrUnauthorized) || strings.Contains(err.Error(), "hf_wrong") || !strings.Contains(err.Error(), "HF_TOKEN is set") {
		t.Fatalf("wrong token: %v", err)
	}

	srv.Reset()
	ok, log := newClient(t, srv, map[string]string{"HF_TOKEN": token})
	snap, err := ok.Download(context.Background(), r, hub.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sent := false
	for _, q := range srv.Requests() {
		sent = sent || q.Authorization == "Bearer "+token
		if strings.HasPrefix(q.Path, "/cdn/") && q.Authorization != "" {
			t.Errorf("token sent to the CDN host %s", q.Host)
		}
	}
	if !sent || countPaths(srv.Requests(), "/cdn/") == 0 {
		t.Fatalf("the token never reached the server, or no CDN transfer: %+v", srv.Requests())
	}
	if strings.Contains(log.String(), token) || strings.Contains(fmtAll(ok, snap), token) {
		t.Fatal("token in progress output or printed values")
	}
	_ = filepath.WalkDir(ok.CacheDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(token)) {
				t.Errorf("token written to %s", p)
			}
		}
		return nil
	})
}

func fmtAll(vs ...any) string {
	var b strings.Builder
	for _, v := range vs {
		b.WriteString(strings.Join([]string{sprintf("%v", v), sprintf("%+v", v), sprintf("%#v", v)}, " "))
	}
	return b.String()
}

func TestRevisionThatMoves(t *testing.T) {
	srv := hubtest.New()
	defer srv.Close()
	f1 := addRepo(srv, "model", "org/tiny", "v1", false)
	c, _ := newClient(t, srv, nil)
	r := hub.Repo{Type: hub.Model, ID: "org/tiny"}
	s1, err := c.Download(context.Background(), r, hub.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c2 := hubtest.Commit("v2")
	newConfig := []byte(`{"model_type":"qwen2_vl","label":"v2"}`)
	srv.SetRepo("model", "org/tiny", &hubtest.Repo{Branches: map[string]string{"main": c2},
		Commits: map[string]map[string][]byte{
			f1.commit: {"config.json": f1.config, "model.safetensors": f1.weights, "onnx/model.onnx": f1.onnx},
			c2:        {"config.json": newConfig, "model.safetensors": f1.weights, "onnx/model.onnx": f1.onnx}}})
	srv.Reset()
	s2, err := c.Download(context.Background(), r, hub.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s2.Commit != c2 || s2.Dir == s1.Dir {
		t.Fatalf("moved branch not followed: %+v", s2)
	}
	if ref, _ := os.ReadFile(filepath.Join(c.CacheDir, "models--org--tiny", "refs", "main")); string(ref) != c2 {
		t.Fatalf("refs/main = %s, want %s", ref, c2)
	}
	if !bytes.Equal(readSnap(t, s2.Dir, "config.json"), newConfig) || !bytes.Equal(readSnap(t, s1.Dir, "config.json"), f1.config) {
		t.Fatal("snapshots mixed up")
	}
	// Unchanged LFS blobs are shared: only the new config was transferred.
	if n := countPaths(srv.Requests(), "/cdn/"); n != 0 {
		t.Fatalf("%d CDN transfers for unchanged blobs", n)
	}
	// The old commit stays reachable by id, with no request.
	srv.Reset()
	if s, err := c.Download(context.Background(), hub.Repo{Type: hub.Model, ID: "org/tiny", Revision: f1.commit}, hub.Options{}); err != nil || s.Dir != s1.Dir || len(srv.Requests()) != 0 {
		t.Fatalf("old snapshot: %v %+v %d requests", err, s, len(srv.Requests()))
	}
}

func TestOfflineMode(t *testing.T) {
	srv := hubtest.New()
	defer srv.Close()
	addRepo(srv, "model", "org/tiny", "v1", false)
	c, _ := newClient(t, srv, nil)
	r := hub.Repo{Type: hub.Model, ID: "org/tiny"}
	s1, err := c.Download(context.Background(), r, hub.Options{})
	if err != nil {
		t.Fatal(err)
	}
	off, _ := newClient(t, srv, map[string]string{"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": c.CacheDir})
	if !off.Offline {
		t.Fatal("HF_HUB_OFFLINE=1 not honoured")
	}
	srv.Reset()
	s2, err := off.Download(context.Background(), r, hub.Options{})
	if err != nil || s2.Dir != s1.Dir || len(s2.Files) != 3 {
		t.Fatalf("offline: %v %+v", err, s2)
	}
	_, err = off.Download(context.Background(), hub.Repo{Type: hub.Model, ID: "org/other"}, hub.Options{})
	if !errors.Is(err, hub.ErrOffline) || !strings.Contains(err.Error(), "HF_HUB_OFFLINE") {
		t.Fatalf("uncached repo offline: %v", err)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Fatalf("offline mode made %d requests", n)
	}
}

// TestPythonCacheReused builds the layout huggingface_hub writes (blobs,
// relative snapshot symlinks, refs/main) by hand and checks that medbench
// uses it without transferring anything.
func TestPythonCacheReused(t *testing.T) {
	srv := hubtest.New()
	defer srv.Close()
	f := addRepo(srv, "model", "org/py", "p1", false)
	c, _ := newClient(t, srv, nil)
	repo := filepath.Join(c.CacheDir, "models--org--py")
	etag := hubtest.GitSHA1(f.config)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(repo, "blobs"), 0o755))
	must(os.MkdirAll(filepath.Join(repo, "snapshots", f.commit), 0o755))
	must(os.MkdirAll(filepath.Join(repo, "refs"), 0o755))
	must(os.WriteFile(filepath.Join(repo, "blobs", etag), f.config, 0o644))
	must(os.Symlink("../../blobs/"+etag, filepath.Join(repo, "snapshots", f.commit, "config.json")))
	must(os.WriteFile(filepath.Join(repo, "refs", "main"), []byte(f.commit), 0o644))

	r := hub.Repo{Type: hub.Model, ID: "org/py", Revision: f.commit}
	s, err := c.Download(context.Background(), r, hub.Options{Include: []string{"config.json"}})
	if err != nil || len(srv.Requests()) != 0 || !bytes.Equal(readSnap(t, s.Dir, "config.json"), f.config) {
		t.Fatalf("pinned commit from a Python cache: %v, %d requests", err, len(srv.Requests()))
	}
	// On a branch: one revision request, no file transfer.
	s, err = c.Download(context.Background(), hub.Repo{Type: hub.Model, ID: "org/py"}, hub.Options{Include: []string{"config.json"}})
	if err != nil || len(srv.Requests()) != 1 || countPaths(srv.Requests(), "/resolve/") != 0 {
		t.Fatalf("branch from a Python cache: %v, %+v", err, srv.Requests())
	}
	// The layout medbench writes is the one Python reads: the missing files
	// join the same snapshot as relative links into blobs/.
	s, err = c.Download(context.Background(), hub.Repo{Type: hub.Model, ID: "org/py"}, hub.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if link, _ := os.Readlink(filepath.Join(s.Dir, "model.safetensors")); link != "../../blobs/"+hubtest.SHA256(f.weights) {
		t.Fatalf("link %q", link)
	}
}

func TestNotFoundErrors(t *testing.T) {
	srv := hubtest.New()
	defer srv.Close()
	addRepo(srv, "model", "org/tiny", "v1", false)
	c, _ := newClient(t, srv, nil)
	_, err := c.Download(context.Background(), hub.Repo{Type: hub.Model, ID: "org/missing"}, hub.Options{})
	if !errors.Is(err, hub.ErrNotFound) || !strings.Contains(err.Error(), "org/missing") || !strings.Contains(err.Error(), "repo not found") {
		t.Fatalf("missing repo: %v", err)
	}
	_, err = c.Download(context.Background(), hub.Repo{Type: hub.Model, ID: "org/tiny", Revision: "nope"}, hub.Options{})
	if !errors.Is(err, hub.ErrNotFound) || !strings.Contains(err.Error(), `revision "nope" not found`) {
		t.Fatalf("missing revision: %v", err)
	}
}

func TestHostileFileNamesRefused(t *testing.T) {
	srv := hubtest.New()
	defer srv.Close()
	commit := hubtest.Commit("evil")
	srv.SetRepo("model", "org/evil", &hubtest.Repo{Branches: map[string]string{"main": commit},
		Commits: map[string]map[string][]byte{commit: {"../../../escape.txt": []byte("x")}}})
	c, _ := newClient(t, srv, nil)
	_, err := c.Download(context.Background(), hub.Repo{Type: hub.Model, ID: "org/evil"}, hub.Options{})
	if err == nil || !strings.Contains(err.Error(), "not a relative path") {
		t.Fatalf("want refusal, got %v", err)
	}
}

func TestParseRef(t *testing.T) {
	r, err := hub.ParseRef("hf:JZPeterPan/MedVLM-R1@refs/pr/1", hub.Model)
	if err != nil || r.ID != "JZPeterPan/MedVLM-R1" || r.Revision != "refs/pr/1" || r.String() != "hf:JZPeterPan/MedVLM-R1@refs/pr/1" {
		t.Fatalf("%+v %v", r, err)
	}
	for _, bad := range []string{"hf:noslash", "hf:a/b/c", "hf:a--b/c", "hf:../x", "hf:a/b@../x", "hf:a/b@", "hf:a/.b"} {
		if _, err := hub.ParseRef(bad, hub.Model); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestPatternsFollowFnmatch(t *testing.T) {
	p, err := hub.NewPatterns([]string{"*.json", "onnx/", "tok?n.txt", "[!x]y.bin"}, []string{"*index.json"})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{
		"config.json": true, "sub/dir/a.json": true, "model.safetensors.index.json": false, "onnx/a.onnx": true,
		"token.txt": true, "tokn.txt": false, "ay.bin": true, "xy.bin": false, "model.safetensors": false,
	} {
		if got := p.Match(name); got != want {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
}

func TestUnreachableHubFallsBackToTheCachedRef(t *testing.T) {
	srv := hubtest.New()
	f := addRepo(srv, "model", "org/tiny", "v1", false)
	c, log := newClient(t, srv, nil)
	r := hub.Repo{Type: hub.Model, ID: "org/tiny"}
	if _, err := c.Download(context.Background(), r, hub.Options{}); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	s, err := c.Download(context.Background(), r, hub.Options{})
	if err != nil || s.Commit != f.commit || !strings.Contains(log.String(), "unreachable") {
		t.Fatalf("fallback: %v %+v\n%s", err, s, log)
	}
	_, err = c.Download(context.Background(), hub.Repo{Type: hub.Model, ID: "org/never"}, hub.Options{})
	if err == nil || !strings.Contains(err.Error(), "org/never") {
		t.Fatalf("uncached repo with the hub down: %v", err)
	}
}

// TestProgressOutputs: plain lines when Progress is not a terminal; the
// go-pretty bar path (a character device: /dev/null) completes too.
func TestProgressOutputs(t *testing.T) {
	srv := hubtest.New()
	defer srv.Close()
	addRepo(srv, "model", "org/tiny", "v1", false)
	c, log := newClient(t, srv, nil)
	if _, err := c.Download(context.Background(), hub.Repo{Type: hub.Model, ID: "org/tiny"}, hub.Options{Include: []string{"model.safetensors"}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "hub: downloading model.safetensors (293.0 KiB)") || !strings.Contains(log.String(), "hub: model.safetensors: 293.0 KiB in") {
		t.Fatalf("plain progress: %q", log)
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Skip(err)
	}
	defer devnull.Close()
	c2, _ := newClient(t, srv, nil)
	c2.Progress = devnull
	if _, err := c2.Download(context.Background(), hub.Repo{Type: hub.Model, ID: "org/tiny"}, hub.Options{}); err != nil {
		t.Fatal(err)
	}
}

// cancelOnWrite cancels a context at the first progress line that holds want.
type cancelOnWrite struct {
	want   string
	cancel context.CancelFunc
}

func (w cancelOnWrite) Write(p []byte) (int, error) {
	if strings.Contains(string(p), w.want) {
		w.cancel()
	}
	return len(p), nil
}

func TestCancelledDownloadKeepsThePartialFile(t *testing.T) {
	srv := hubtest.New()
	defer srv.Close()
	f := addRepo(srv, "model", "org/tiny", "v1", false)
	srv.CutAfter(f.weights, 1000) // the first transfer fails, so the retry wait is where the cancel lands
	c, _ := newClient(t, srv, nil)
	c.RetryDelay = time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c.Progress = cancelOnWrite{want: "resuming", cancel: cancel}
	start := time.Now()
	_, err := c.Download(ctx, hub.Repo{Type: hub.Model, ID: "org/tiny"}, hub.Options{Include: []string{"model.safetensors"}})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "model.safetensors") || time.Since(start) > 30*time.Second {
		t.Fatalf("want a prompt cancellation, got %v after %s", err, time.Since(start))
	}
	inc := filepath.Join(c.CacheDir, "models--org--tiny", "blobs", hubtest.SHA256(f.weights)+".incomplete")
	if st, err := os.Stat(inc); err != nil || st.Size() != 1000 {
		t.Fatalf("partial file: %v %v", st, err)
	}
}

// TestRenamedRepoFollowsRelativeRedirects: the hub answers a renamed repo's
// old id with a relative 307; the client follows it (metadata requests
// follow relative redirects only) and caches under the id it was given, as
// huggingface_hub does.
func TestRenamedRepoFollowsRelativeRedirects(t *testing.T) {
	srv := hubtest.New()
	defer srv.Close()
	f := addRepo(srv, "model", "org/new-name", "v1", false)
	srv.Rename("org/old-name", "org/new-name")
	c, _ := newClient(t, srv, nil)
	s, err := c.Download(context.Background(), hub.Repo{Type: hub.Model, ID: "org/old-name"}, hub.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Commit != f.commit || !strings.Contains(s.Dir, "models--org--old-name") || !bytes.Equal(readSnap(t, s.Dir, "model.safetensors"), f.weights) {
		t.Fatalf("renamed: %+v", s)
	}
	if countPaths(srv.Requests(), "/org/new-name/resolve/") == 0 {
		t.Fatalf("redirect not followed: %+v", srv.Requests())
	}
}
