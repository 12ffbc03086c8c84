package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DefaultEndpoint is the hub used when HF_ENDPOINT is not set.
const DefaultEndpoint = "https://huggingface.co"

// Token is a hub access token. It prints as [redacted] in every fmt verb
// that uses String or GoString, so a logged Client never shows it.
type Token string

func (Token) String() string   { return "[redacted]" }
func (Token) GoString() string { return "[redacted]" }

// Errors callers can test with errors.Is.
var (
	ErrUnauthorized = errors.New("access denied")
	ErrNotFound     = errors.New("not found")
	ErrHashMismatch = errors.New("hash mismatch")
	ErrOffline      = errors.New("not in the local cache (offline mode)")
	errUnreachable  = errors.New("hub unreachable")
)

// Client talks to one hub endpoint and keeps files in one cache.
type Client struct {
	Endpoint string // e.g. https://huggingface.co (no trailing slash)
	Token    Token  // sent as Authorization: Bearer; never logged or written
	CacheDir string // huggingface_hub cache root (HF_HUB_CACHE)
	Offline  bool   // HF_HUB_OFFLINE: never touch the network
	HTTP     *http.Client
	// Progress receives a progress bar when it is a terminal, plain lines
	// otherwise; nil: silent.
	Progress io.Writer
	// Retries is how many times an interrupted transfer is resumed (HTTP
	// Range) within one call; RetryDelay is the wait before each.
	Retries    int
	RetryDelay time.Duration
}

// FromEnv configures a client as huggingface_hub does from the environment
// (getenv is os.Getenv outside tests): HF_ENDPOINT, HF_TOKEN, HF_HUB_CACHE,
// else HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else
// ~/.cache/huggingface/hub; HF_HUB_OFFLINE=1/ON/YES/TRUE.
func FromEnv(getenv func(string) string) (*Client, error) {
	c := &Client{
		Endpoint:   strings.TrimRight(getenv("HF_ENDPOINT"), "/"),
		Token:      Token(strings.TrimSpace(getenv("HF_TOKEN"))),
		Offline:    isTrue(getenv("HF_HUB_OFFLINE")),
		Retries:    3,
		RetryDelay: time.Second,
	}
	if c.Endpoint == "" {
		c.Endpoint = DefaultEndpoint
	}
	u, err := url.Parse(c.Endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("hub: HF_ENDPOINT %q: want an http(s) URL", c.Endpoint)
	}
	c.CacheDir, err = CacheDir(getenv)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = time.Minute
	c.HTTP = &http.Client{Transport: tr}
	return c, nil
}

// CacheDir is the huggingface_hub cache root the environment selects.
func CacheDir(getenv func(string) string) (string, error) {
	if d := getenv("HF_HUB_CACHE"); d != "" {
		return expandHome(d, getenv)
	}
	if d := getenv("HUGGINGFACE_HUB_CACHE"); d != "" { // legacy name
		return expandHome(d, getenv)
	}
	if d := getenv("HF_HOME"); d != "" {
		d, err := expandHome(d, getenv)
		return filepath.Join(d, "hub"), err
	}
	if d := getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "huggingface", "hub"), nil
	}
	home, err := homeDir(getenv, "hub: no cache folder: set HF_HOME or HF_HUB_CACHE")
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".cache", "huggingface", "hub"), nil
}

// homeDir is $HOME, else the user's home folder; when there is none, the
// error starts with noHome (which says what to set instead).
func homeDir(getenv func(string) string, noHome string) (string, error) {
	if home := getenv("HOME"); home != "" {
		return home, nil
	}
	h, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("%s: %w", noHome, err)
	}
	return h, nil
}

func expandHome(p string, getenv func(string) string) (string, error) {
	if p == "~" || strings.HasPrefix(p, "~/") {
		home, err := homeDir(getenv, "hub: "+p)
		if err != nil {
			return "", err
		}
		return filepath.Join(home, p[1:]), nil
	}
	return p, nil
}

func isTrue(v string) bool {
	switch strings.ToUpper(strings.TrimSpace(v)) {
	case "1", "ON", "YES", "TRUE":
		return true
	}
	return false
}

// redact removes the token from a message (an error body could echo it).
func (c *Client) redact(s string) string {
	if t := string(c.Token); t != "" {
		s = strings.ReplaceAll(s, t, "[redacted]")
	}
	return s
}

// newRequest builds a hub request with the token and identity encoding
// (sizes and ranges refer to the stored bytes).
func (c *Client) newRequest(ctx context.Context, method, u string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, fmt.Errorf("hub: %s: %w", u, err)
	}
	req.Header.Set("User-Agent", "medbench (hub client)")
	req.Header.Set("Accept-Encoding", "identity")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+string(c.Token))
	}
	return req, nil
}

// httpClient returns the client to use; relativeOnly follows only relative
// redirects (huggingface_hub's follow_relative_redirects on metadata
// requests: a renamed repo answers with a relative Location, the LFS CDN
// with an absolute one whose 302 answer itself carries the file's headers).
func (c *Client) httpClient(relativeOnly bool) *http.Client {
	hc := http.DefaultClient
	if c.HTTP != nil {
		hc = c.HTTP
	}
	cp := *hc
	cp.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("more than 10 redirects")
		}
		if relativeOnly && req.Response != nil {
			if u, err := url.Parse(req.Response.Header.Get("Location")); err != nil || u.IsAbs() || u.Host != "" {
				return http.ErrUseLastResponse
			}
		}
		// The token goes to the hub only, never to the host a file is
		// redirected to (the CDN's URL is signed). Go itself keeps it for
		// any port of the same host name; medbench is stricter.
		if req.URL.Host != via[0].URL.Host || req.URL.Scheme != via[0].URL.Scheme {
			req.Header.Del("Authorization")
		}
		return nil
	}
	return &cp
}

// statusError turns a failed hub response into a one-line error naming the
// repo and, where given, the file, with the hub's X-Error-Code/Message.
func (c *Client) statusError(r Repo, file string, resp *http.Response) error {
	what := fmt.Sprintf("%s %s", r.Type, r.ID)
	if file != "" {
		what += " file " + file
	}
	what += " (revision " + r.rev() + ")"
	code := resp.Header.Get("X-Error-Code")
	msg := c.redact(resp.Header.Get("X-Error-Message"))
	detail := ""
	if msg != "" {
		detail = ": " + msg
	}
	page := c.Endpoint + "/" + r.Type.urlPrefix() + r.ID
	switch {
	case code == "GatedRepo" || ((resp.StatusCode == 401 || resp.StatusCode == 403) && code != "RepoNotFound"):
		hint := "set HF_TOKEN to a token with read access, and accept the licence on " + page
		if c.Token != "" {
			hint = "HF_TOKEN is set but has no access: accept the licence on " + page + " with that account, or use a token with read access"
		}
		return fmt.Errorf("hub: %s: HTTP %d%s: the repo is gated or private: %s: %w", what, resp.StatusCode, detail, hint, ErrUnauthorized)
	case code == "RevisionNotFound":
		return fmt.Errorf("hub: %s: revision %q not found%s: %w", what, r.rev(), detail, ErrNotFound)
	case code == "EntryNotFound":
		return fmt.Errorf("hub: %s: file not found in the repo%s: %w", what, detail, ErrNotFound)
	case code == "RepoNotFound" || resp.StatusCode == 404 || resp.StatusCode == 401:
		hint := ""
		if c.Token == "" {
			hint = " (if it is private, set HF_TOKEN)"
		}
		if resp.StatusCode == 404 && file == "" && r.Revision != "" && code == "" {
			return fmt.Errorf("hub: %s: repo or revision not found%s%s: %w", what, detail, hint, ErrNotFound)
		}
		return fmt.Errorf("hub: %s: repo not found at %s%s%s: %w", what, c.Endpoint, detail, hint, ErrNotFound)
	}
	return fmt.Errorf("hub: %s: HTTP %d%s", what, resp.StatusCode, detail)
}

// repoInfo is the part of /api/{models,datasets}/{id}/revision/{rev} medbench reads.
type repoInfo struct {
	SHA      string `json:"sha"`
	Siblings []struct {
		RFilename string `json:"rfilename"`
	} `json:"siblings"`
}

// maxInfoBytes caps the revision API's JSON (a listing of a huge repo is a few MB).
const maxInfoBytes = 64 << 20

// fetchInfo asks the hub for the revision's commit and file list.
func (c *Client) fetchInfo(ctx context.Context, r Repo) (commit string, files []string, err error) {
	u := fmt.Sprintf("%s/api/%s/%s/revision/%s", c.Endpoint, r.Type.apiPath(), r.ID, url.PathEscape(r.rev()))
	req, err := c.newRequest(ctx, http.MethodGet, u)
	if err != nil {
		return "", nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.httpClient(true).Do(req)
	if err != nil {
		return "", nil, fmt.Errorf("hub: %s %s: %s: %w", r.Type, r.ID, c.redact(err.Error()), errUnreachable)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", nil, c.statusError(r, "", resp)
	}
	var info repoInfo
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxInfoBytes+1))
	if err != nil {
		return "", nil, fmt.Errorf("hub: %s %s: revision info: %w", r.Type, r.ID, err)
	}
	if len(body) > maxInfoBytes {
		return "", nil, fmt.Errorf("hub: %s %s: revision info larger than %d bytes", r.Type, r.ID, maxInfoBytes)
	}
	if err := json.Unmarshal(body, &info); err != nil {
		return "", nil, fmt.Errorf("hub: %s %s: revision info from %s: %w", r.Type, r.ID, u, err)
	}
	if !IsCommit(info.SHA) {
		return "", nil, fmt.Errorf("hub: %s %s: revision info: sha %q is not a commit id", r.Type, r.ID, info.SHA)
	}
	for _, s := range info.Siblings {
		if err := validateFile(s.RFilename); err != nil {
			return "", nil, fmt.Errorf("hub: %s %s@%s: %w", r.Type, r.ID, info.SHA, err)
		}
		files = append(files, s.RFilename)
	}
	return info.SHA, files, nil
}

// resolveURL is {endpoint}/{prefix}{id}/resolve/{revision}/{file}.
func (c *Client) resolveURL(r Repo, commit, file string) string {
	parts := strings.Split(file, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return fmt.Sprintf("%s/%s%s/resolve/%s/%s", c.Endpoint, r.Type.urlPrefix(), r.ID, url.PathEscape(commit), strings.Join(parts, "/"))
}
