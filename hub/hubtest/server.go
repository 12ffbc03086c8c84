// Package hubtest serves the Hugging Face hub's file API from memory on
// 127.0.0.1 for tests: the revision API, resolve URLs with their headers
// (X-Repo-Commit, ETag, X-Linked-Etag, X-Linked-Size), 302 redirects of LFS
// files to a "CDN" path with Range support, gated repos and injected faults.
package hubtest

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// Request is one request the server saw.
type Request struct {
	Host, Method, Path, Range, Authorization string
}

// Repo is a repository: commits of files, and branches pointing at commits.
type Repo struct {
	Commits  map[string]map[string][]byte // commit -> path -> contents
	Branches map[string]string            // branch or tag -> commit
	Gated    bool                         // requires the server's Token
}

// Server is the fake hub. LFS files redirect to a second listener (the
// "CDN", another port of 127.0.0.1).
type Server struct {
	*httptest.Server
	CDN *httptest.Server
	// Token is the only token that opens gated repos.
	Token string
	// LFSMin: files at least this long (or *.safetensors, *.onnx, *.onnx_data)
	// are LFS files, served by redirect; others are git files.
	LFSMin int

	mu      sync.Mutex
	repos   map[string]*Repo  // "model/ORG/NAME" or "dataset/ORG/NAME"
	renamed map[string]string // old ORG/NAME -> new ORG/NAME (models)
	reqs    []Request
	cut     map[string]int    // CDN etag -> bytes to send before dropping the connection (once)
	bad     map[string][]byte // CDN etag -> bytes served instead of the real ones
}

// New starts a server on 127.0.0.1.
func New() *Server {
	s := &Server{repos: map[string]*Repo{}, renamed: map[string]string{}, cut: map[string]int{}, bad: map[string][]byte{}, LFSMin: 1 << 20}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	s.CDN = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Close stops both listeners.
func (s *Server) Close() {
	s.Server.Close()
	s.CDN.Close()
}

// Commit makes a 40-hex commit id from a label.
func Commit(label string) string {
	h := sha1.Sum([]byte(label))
	return hex.EncodeToString(h[:])
}

// SetRepo adds or replaces a repository; kind is "model" or "dataset".
func (s *Server) SetRepo(kind, id string, r *Repo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repos[kind+"/"+id] = r
}

// Rename makes a model repo answer under a new id: requests for the old id
// get a 307 with a relative Location, as the hub answers for renamed repos.
func (s *Server) Rename(oldID, newID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.renamed[oldID] = newID
}

// Move points a branch of a repo at another commit.
func (s *Server) Move(kind, id, branch, commit string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repos[kind+"/"+id].Branches[branch] = commit
}

// CutAfter makes the next CDN transfer of a file drop the connection after n bytes.
func (s *Server) CutAfter(content []byte, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cut[SHA256(content)] = n
}

// Corrupt serves other bytes for a file (CDN transfers of LFS files, resolve
// answers of git files), under the real file's etag.
func (s *Server) Corrupt(content, served []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bad[SHA256(content)] = served
}

// Requests returns the requests seen so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Reset forgets the requests seen.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = nil
}

// SHA256 is the LFS etag of contents.
func SHA256(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// GitSHA1 is the git blob id of contents (the ETag of a git file).
func GitSHA1(b []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

func (s *Server) isLFS(path string, b []byte) bool {
	return len(b) >= s.LFSMin || strings.HasSuffix(path, ".safetensors") || strings.HasSuffix(path, ".onnx") ||
		strings.Contains(path, ".onnx_data")
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.reqs = append(s.reqs, Request{Host: r.Host, Method: r.Method, Path: r.URL.EscapedPath(), Range: r.Header.Get("Range"), Authorization: r.Header.Get("Authorization")})
	s.mu.Unlock()
	p := r.URL.EscapedPath()
	s.mu.Lock()
	for from, to := range s.renamed {
		for _, prefix := range []string{"/api/models/", "/"} {
			if strings.HasPrefix(p, prefix+from+"/") {
				s.mu.Unlock()
				w.Header().Set("Location", prefix+to+strings.TrimPrefix(p, prefix+from))
				w.WriteHeader(http.StatusTemporaryRedirect)
				return
			}
		}
	}
	s.mu.Unlock()
	switch {
	case strings.HasPrefix(p, "/cdn/"):
		s.serveCDN(w, r, strings.TrimPrefix(p, "/cdn/"))
	case strings.HasPrefix(p, "/api/models/"):
		s.serveInfo(w, r, "model", strings.TrimPrefix(p, "/api/models/"))
	case strings.HasPrefix(p, "/api/datasets/"):
		s.serveInfo(w, r, "dataset", strings.TrimPrefix(p, "/api/datasets/"))
	case strings.HasPrefix(p, "/datasets/"):
		s.serveResolve(w, r, "dataset", strings.TrimPrefix(p, "/datasets/"))
	default:
		s.serveResolve(w, r, "model", strings.TrimPrefix(p, "/"))
	}
}

// lookup finds repo and commit for ORG/NAME and a revision, writing the
// hub's error answer when it fails.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request, kind, id, rev string) (*Repo, string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	repo := s.repos[kind+"/"+id]
	if repo == nil {
		w.Header().Set("X-Error-Code", "RepoNotFound")
		w.Header().Set("X-Error-Message", "Repository not found")
		http.Error(w, "Repository not found", http.StatusNotFound)
		return nil, "", false
	}
	if repo.Gated && r.Header.Get("Authorization") != "Bearer "+s.Token {
		w.Header().Set("X-Error-Code", "GatedRepo")
		w.Header().Set("X-Error-Message", "Access to model "+id+" is restricted. You must have access to it and be authenticated to access it. Please log in.")
		http.Error(w, "gated", http.StatusUnauthorized)
		return nil, "", false
	}
	commit := rev
	if c, ok := repo.Branches[rev]; ok {
		commit = c
	}
	if _, ok := repo.Commits[commit]; !ok {
		w.Header().Set("X-Error-Code", "RevisionNotFound")
		w.Header().Set("X-Error-Message", "Invalid rev id: "+rev)
		http.Error(w, "Invalid rev id", http.StatusNotFound)
		return nil, "", false
	}
	return repo, commit, true
}

func (s *Server) serveInfo(w http.ResponseWriter, r *http.Request, kind, rest string) {
	parts := strings.SplitN(rest, "/", 4) // ORG NAME revision REV
	if len(parts) != 4 || parts[2] != "revision" {
		http.NotFound(w, r)
		return
	}
	rev, err := url.PathUnescape(parts[3])
	if err != nil {
		http.Error(w, "bad revision", http.StatusBadRequest)
		return
	}
	id := parts[0] + "/" + parts[1]
	repo, commit, ok := s.lookup(w, r, kind, id, rev)
	if !ok {
		return
	}
	type sib struct {
		RFilename string `json:"rfilename"`
	}
	info := struct {
		ID       string `json:"id"`
		SHA      string `json:"sha"`
		Siblings []sib  `json:"siblings"`
	}{ID: id, SHA: commit}
	s.mu.Lock()
	var names []string
	for n := range repo.Commits[commit] {
		names = append(names, n)
	}
	s.mu.Unlock()
	sort.Strings(names)
	for _, n := range names {
		info.Siblings = append(info.Siblings, sib{n})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(info)
}

func (s *Server) serveResolve(w http.ResponseWriter, r *http.Request, kind, rest string) {
	parts := strings.SplitN(rest, "/", 5) // ORG NAME resolve REV PATH
	if len(parts) != 5 || parts[2] != "resolve" {
		http.NotFound(w, r)
		return
	}
	rev, err1 := url.PathUnescape(parts[3])
	file, err2 := url.PathUnescape(parts[4])
	if err1 != nil || err2 != nil {
		http.Error(w, "bad path", http.StatusBadRequest)
		return
	}
	repo, commit, ok := s.lookup(w, r, kind, parts[0]+"/"+parts[1], rev)
	if !ok {
		return
	}
	s.mu.Lock()
	b, ok := repo.Commits[commit][file]
	s.mu.Unlock()
	if !ok {
		w.Header().Set("X-Error-Code", "EntryNotFound")
		http.Error(w, "Entry not found", http.StatusNotFound)
		return
	}
	w.Header().Set("X-Repo-Commit", commit)
	if s.isLFS(file, b) {
		sum := SHA256(b)
		w.Header().Set("X-Linked-Etag", `"`+sum+`"`)
		w.Header().Set("X-Linked-Size", fmt.Sprint(len(b)))
		w.Header().Set("ETag", `"`+GitSHA1([]byte("version https://git-lfs.github.com/spec/v1\noid sha256:"+sum+"\n"))+`"`)
		w.Header().Set("Location", s.CDN.URL+"/cdn/"+sum)
		w.WriteHeader(http.StatusFound)
		return
	}
	w.Header().Set("ETag", `"`+GitSHA1(b)+`"`)
	s.mu.Lock()
	if bad, ok := s.bad[SHA256(b)]; ok {
		b = bad
	}
	s.mu.Unlock()
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
}

func (s *Server) serveCDN(w http.ResponseWriter, r *http.Request, sum string) {
	s.mu.Lock()
	var content []byte
	for _, repo := range s.repos {
		for _, files := range repo.Commits {
			for _, b := range files {
				if SHA256(b) == sum {
					content = b
				}
			}
		}
	}
	cut, hasCut := s.cut[sum]
	delete(s.cut, sum)
	if bad, ok := s.bad[sum]; ok {
		content = bad
	}
	s.mu.Unlock()
	if content == nil {
		http.NotFound(w, r)
		return
	}
	if hasCut && r.Header.Get("Range") == "" {
		w.Header().Set("Content-Length", fmt.Sprint(len(content)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(content[:cut])
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		panic(http.ErrAbortHandler) // drop the connection mid-body
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(content))
}
