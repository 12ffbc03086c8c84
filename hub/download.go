package hub

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Snapshot is a downloaded revision.
type Snapshot struct {
	Repo     Repo     `json:"-"`
	Ref      string   `json:"ref"`      // hf:ORG/NAME[@REVISION] as asked
	Commit   string   `json:"commit"`   // the revision pinned to a commit
	Endpoint string   `json:"endpoint"` // the hub it came from
	Dir      string   `json:"dir"`      // snapshots/{commit}
	Files    []string `json:"files"`    // the selected files, all present in Dir
	// Requests is how many HTTP requests the call made, not counting the
	// redirects they followed (0: served from the cache).
	Requests int `json:"-"`
}

// Options selects what Download fetches.
type Options struct {
	Include, Exclude []string // fnmatch globs (huggingface_hub allow/ignore patterns)
	// Select, when set, picks the wanted files from the revision's full
	// listing instead of Include/Exclude (used to choose a model layout).
	Select func(files []string) ([]string, error)
}

// Resolve pins the repo's revision to a commit and lists its files: from the
// cache when the revision is a commit id with a saved listing, or offline;
// otherwise with one request to the revision API (a branch may have moved).
func (c *Client) Resolve(ctx context.Context, r Repo) (commit string, files []string, requests int, err error) {
	if err := ValidateID(r.ID); err != nil {
		return "", nil, 0, err
	}
	if err := validateRevision(r.rev()); err != nil {
		return "", nil, 0, err
	}
	if commit, ok := c.cachedCommit(r); ok && (IsCommit(r.rev()) || c.Offline) {
		if files, ok := c.cachedListing(r, commit); ok {
			return commit, files, 0, nil
		}
		if c.Offline {
			if _, err := os.Stat(c.SnapshotDir(r, commit)); err == nil {
				return commit, c.snapshotFiles(r, commit), 0, nil
			}
		}
	}
	if c.Offline {
		return "", nil, 0, fmt.Errorf("hub: %s %s: revision %s: %w (HF_HUB_OFFLINE is set; run once online to fill %s)", r.Type, r.ID, r.rev(), ErrOffline, c.repoDir(r))
	}
	commit, files, err = c.fetchInfo(ctx, r)
	if err != nil {
		if errors.Is(err, errUnreachable) {
			if cc, ok := c.cachedCommit(r); ok {
				fl, ok := c.cachedListing(r, cc)
				if !ok {
					fl = c.snapshotFiles(r, cc)
				}
				if len(fl) > 0 {
					c.logf("hub: %s: the hub is unreachable; using the cached commit %s of %s\n", r.ID, cc, r.rev())
					return cc, fl, 1, nil
				}
			}
		}
		return "", nil, 1, err
	}
	if err := c.saveListing(r, commit, files); err != nil {
		return "", nil, 1, err
	}
	if err := c.writeRef(r, commit); err != nil {
		return "", nil, 1, err
	}
	return commit, files, 1, nil
}

// Download makes the selected files of a revision present in its snapshot
// folder and returns it. Files already in the snapshot are used as they are
// (no request); a commit id (or offline mode) with a complete snapshot makes
// no request at all.
func (c *Client) Download(ctx context.Context, r Repo, o Options) (*Snapshot, error) {
	pat, err := NewPatterns(o.Include, o.Exclude)
	if err != nil {
		return nil, err
	}
	s := &Snapshot{Repo: r, Ref: r.String(), Endpoint: c.Endpoint}
	// A commit id with plain file names: the snapshot alone can answer.
	if names, ok := pat.literals(); ok && o.Select == nil {
		if commit, ok := c.cachedCommit(r); ok && (IsCommit(r.rev()) || c.Offline) && c.allPresent(r, commit, names) {
			s.Commit, s.Dir, s.Files = commit, c.SnapshotDir(r, commit), names
			return s, nil
		}
	}
	commit, listing, n, err := c.Resolve(ctx, r)
	s.Requests += n
	if err != nil {
		return s, err
	}
	var want []string
	if o.Select != nil {
		if want, err = o.Select(listing); err != nil {
			return s, fmt.Errorf("hub: %s %s@%s: %w", r.Type, r.ID, commit, err)
		}
	} else {
		for _, f := range listing {
			if pat.Match(f) {
				want = append(want, f)
			}
		}
		if len(want) == 0 {
			return s, fmt.Errorf("hub: %s %s@%s: no file matches --include %q / --exclude %q (the repo has %d files)", r.Type, r.ID, commit, o.Include, o.Exclude, len(listing))
		}
	}
	sort.Strings(want)
	s.Commit, s.Dir, s.Files = commit, c.SnapshotDir(r, commit), want
	for _, f := range want {
		if c.inSnapshot(r, commit, f) {
			continue
		}
		if c.Offline {
			return s, fmt.Errorf("hub: %s %s@%s: %s: %w", r.Type, r.ID, commit, f, ErrOffline)
		}
		k, err := c.fetchFile(ctx, r, commit, f)
		s.Requests += k
		if err != nil {
			return s, err
		}
	}
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return s, fmt.Errorf("hub: %w", err)
	}
	return s, nil
}

func (c *Client) allPresent(r Repo, commit string, files []string) bool {
	for _, f := range files {
		if validateFile(f) != nil || !c.inSnapshot(r, commit, f) {
			return false
		}
	}
	return len(files) > 0
}

// fileMeta is what the resolve endpoint's HEAD answer tells about a file.
type fileMeta struct {
	commit string
	etag   string // normalized: no quotes, no W/
	size   int64  // -1: unknown
}

var (
	sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)
	sha1Hex   = regexp.MustCompile(`^[0-9a-f]{40}$`)
)

// normalizeETag strips W/ and quotes (huggingface_hub's _normalize_etag).
func normalizeETag(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "W/")
	return strings.Trim(s, `"`)
}

// head reads a file's metadata: X-Repo-Commit, X-Linked-Etag (LFS files:
// the sha256 of the contents) or ETag (git files: the blob's sha1), and
// X-Linked-Size or Content-Length. Redirects to other hosts (the LFS CDN) are
// not followed: the 302 answer itself carries the headers.
func (c *Client) head(ctx context.Context, r Repo, commit, file string) (fileMeta, error) {
	req, err := c.newRequest(ctx, http.MethodHead, c.resolveURL(r, commit, file))
	if err != nil {
		return fileMeta{}, err
	}
	resp, err := c.httpClient(true).Do(req)
	if err != nil {
		return fileMeta{}, fmt.Errorf("hub: %s %s@%s: %s: %s", r.Type, r.ID, commit, file, c.redact(err.Error()))
	}
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		return fileMeta{}, c.statusError(Repo{Type: r.Type, ID: r.ID, Revision: commit}, file, resp)
	}
	m := fileMeta{commit: resp.Header.Get("X-Repo-Commit"), size: -1}
	m.etag = normalizeETag(resp.Header.Get("X-Linked-Etag"))
	if m.etag == "" {
		m.etag = normalizeETag(resp.Header.Get("ETag"))
	}
	size := resp.Header.Get("X-Linked-Size")
	if size == "" && resp.StatusCode < 300 {
		size = resp.Header.Get("Content-Length")
	}
	if size != "" {
		if m.size, err = strconv.ParseInt(size, 10, 64); err != nil || m.size < 0 {
			return m, fmt.Errorf("hub: %s %s@%s: %s: bad size header %q", r.Type, r.ID, commit, file, size)
		}
	}
	switch {
	case m.commit != "" && m.commit != commit:
		return m, fmt.Errorf("hub: %s %s: %s: asked for commit %s, the hub answered X-Repo-Commit %s", r.Type, r.ID, file, commit, m.commit)
	case !sha256Hex.MatchString(m.etag) && !sha1Hex.MatchString(m.etag):
		return m, fmt.Errorf("hub: %s %s@%s: %s: ETag %q is neither a sha256 (LFS) nor a git blob sha1: the download could not be verified", r.Type, r.ID, commit, file, m.etag)
	case m.size < 0:
		return m, fmt.Errorf("hub: %s %s@%s: %s: no X-Linked-Size or Content-Length", r.Type, r.ID, commit, file)
	}
	return m, nil
}

// fetchFile downloads one file into blobs/{etag} (resuming a
// blobs/{etag}.incomplete left by an earlier try), verifies it and links it
// into the snapshot. It returns the number of requests made.
func (c *Client) fetchFile(ctx context.Context, r Repo, commit, file string) (int, error) {
	m, err := c.head(ctx, r, commit, file)
	if err != nil {
		return 1, err
	}
	requests := 1
	blob := c.blobPath(r, m.etag)
	unlock, err := lockFile(c.lockPath(r, m.etag))
	if err != nil {
		return requests, err
	}
	defer unlock()
	if st, err := os.Stat(blob); err == nil && st.Mode().IsRegular() {
		return requests, c.link(r, commit, file, m.etag) // another file or process brought it
	}
	if err := os.MkdirAll(c.repoDir(r)+"/blobs", 0o755); err != nil {
		return requests, fmt.Errorf("hub: %w", err)
	}
	where := fmt.Sprintf("%s %s@%s: %s", r.Type, r.ID, commit, file)
	bar := c.newBar(file, m.size)
	defer bar.finish()
	inc := blob + ".incomplete"
	var lastErr error
	var got string
	for attempt := 0; attempt <= c.Retries; attempt++ {
		if attempt > 0 {
			c.logf("hub: %s: transfer interrupted (%v); resuming (try %d of %d)\n", file, lastErr, attempt, c.Retries)
			select {
			case <-ctx.Done():
				return requests, fmt.Errorf("hub: %s: %w (the partial download is kept and resumes on the next run)", where, ctx.Err())
			case <-time.After(c.RetryDelay):
			}
		}
		requests++
		sum, err := c.transfer(ctx, r, commit, file, inc, m, bar)
		if err == nil {
			got = sum
			break
		}
		lastErr = err
		if ctx.Err() != nil {
			return requests, fmt.Errorf("hub: %s: %w (the partial download is kept and resumes on the next run)", where, ctx.Err())
		}
		if !retryable(err) {
			return requests, err
		}
		if attempt == c.Retries {
			return requests, fmt.Errorf("hub: %s: %w (after %d tries; %s is kept and resumes on the next run)", where, err, c.Retries+1, inc)
		}
	}
	if got != m.etag {
		os.Remove(inc)
		kind := "sha256 (the hub's LFS etag)"
		if len(m.etag) == 40 {
			kind = "git blob sha1 (the hub's ETag)"
		}
		return requests, fmt.Errorf("hub: %s: %w: %s expected %s, downloaded %s; the bad download was deleted", where, ErrHashMismatch, kind, m.etag, got)
	}
	if err := os.Rename(inc, blob); err != nil {
		return requests, fmt.Errorf("hub: %s: %w", where, err)
	}
	return requests, c.link(r, commit, file, m.etag)
}

func (c *Client) lockPath(r Repo, etag string) string {
	return c.CacheDir + "/.locks/" + r.folderName() + "/" + etag + ".lock"
}

// errShort marks a body that ended before the announced size.
var errShort = errors.New("the transfer ended early")

func retryable(err error) bool {
	if err == nil {
		return true
	}
	var se *statusErr
	if errors.As(err, &se) {
		return se.code >= 500 || se.code == 429
	}
	return !errors.Is(err, ErrUnauthorized) && !errors.Is(err, ErrNotFound) && !errors.Is(err, errTooLong)
}

type statusErr struct {
	code int
	err  error
}

func (e *statusErr) Error() string { return e.err.Error() }
func (e *statusErr) Unwrap() error { return e.err }

var errTooLong = errors.New("more bytes than the hub announced")

// transfer appends to inc from its current length with a Range request (or
// starts over when the server ignores the range) and returns the complete
// file's digest in the etag's kind (see newHash); the bytes already there are
// hashed first, the rest as they arrive, so the file is read once.
func (c *Client) transfer(ctx context.Context, r Repo, commit, file, inc string, m fileMeta, bar *bar) (sum string, err error) {
	f, err := os.OpenFile(inc, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", fmt.Errorf("hub: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("hub: %w", err)
	}
	have := st.Size()
	if have > m.size { // not this blob's prefix
		have = 0
	}
	digest := func(prefix int64) (hash.Hash, error) {
		h := newHash(m.etag, m.size)
		if _, err := io.Copy(h, io.NewSectionReader(f, 0, prefix)); err != nil {
			return nil, fmt.Errorf("hub: %s: %w", inc, err)
		}
		return h, nil
	}
	if have == m.size && m.size > 0 {
		bar.set(have)
		h, err := digest(have)
		if err != nil {
			return "", err
		}
		return hex.EncodeToString(h.Sum(nil)), nil
	}
	req, err := c.newRequest(ctx, http.MethodGet, c.resolveURL(r, commit, file))
	if err != nil {
		return "", err
	}
	if have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
	}
	resp, err := c.httpClient(false).Do(req)
	if err != nil {
		return "", fmt.Errorf("%s", c.redact(err.Error()))
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusPartialContent && have > 0:
		if !strings.HasPrefix(resp.Header.Get("Content-Range"), fmt.Sprintf("bytes %d-", have)) {
			_ = f.Truncate(0)
			return "", fmt.Errorf("unexpected Content-Range %q for a resume at byte %d", resp.Header.Get("Content-Range"), have)
		}
	case resp.StatusCode == http.StatusOK:
		have = 0
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		_ = f.Truncate(0)
		return "", fmt.Errorf("HTTP 416 for a resume at byte %d", have)
	default:
		e := c.statusError(Repo{Type: r.Type, ID: r.ID, Revision: commit}, file, resp)
		return "", &statusErr{code: resp.StatusCode, err: e}
	}
	if err := f.Truncate(have); err != nil {
		return "", fmt.Errorf("hub: %w", err)
	}
	h, err := digest(have)
	if err != nil {
		return "", err
	}
	if _, err := f.Seek(have, io.SeekStart); err != nil {
		return "", fmt.Errorf("hub: %w", err)
	}
	bar.set(have)
	left := m.size - have
	n, err := io.Copy(f, io.TeeReader(io.TeeReader(io.LimitReader(resp.Body, left+1), bar), h))
	if n > left {
		_ = f.Truncate(0)
		return "", fmt.Errorf("hub: %s %s@%s: %s: %w (%d)", r.Type, r.ID, commit, file, errTooLong, m.size)
	}
	if err == nil && n < left {
		err = errShort
	}
	if err != nil {
		_ = f.Sync()
		return "", err
	}
	if err := f.Sync(); err != nil {
		return "", fmt.Errorf("hub: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// newHash hashes a file of the given size the way its etag was made: sha256
// of the contents for LFS files (64 hex), git's blob id, sha1 of
// "blob <size>\0" + contents, for files stored in git (40 hex).
func newHash(etag string, size int64) hash.Hash {
	if len(etag) == 64 {
		return sha256.New()
	}
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", size)
	return h
}
