package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/medbench/medbench/runners"
)

// TJSScript is the timed transformers.js peer, inside the testtools folder.
const TJSScript = "tjs-bench.mjs"

// ErrNoTJS reports that the transformers.js peer cannot run here: no node
// executable, or no testtools folder with its node_modules (`make testtools`).
var ErrNoTJS = errors.New("transformers.js peer unavailable")

// TJSCase is one case of testtools/tjs-bench.mjs: an absolute image path
// (optional) and the user text after the image.
type TJSCase struct {
	Image string `json:"image,omitempty"`
	Text  string `json:"text"`
}

// TJSCases turns requests into peer cases. Image paths are made absolute;
// embedded image bytes (which win over paths, as in the runner) are written
// to dir. transformers.js takes one image per processor call, so a request
// with more than one image is an error.
func TJSCases(reqs []runners.Request, dir string) ([]TJSCase, error) {
	out := make([]TJSCase, len(reqs))
	for i, r := range reqs {
		out[i].Text = r.Text
		switch len(r.Images) {
		case 0:
			continue
		case 1:
		default:
			return nil, fmt.Errorf("bench: request %s has %d images; the transformers.js peer takes one image per case", r.ID, len(r.Images))
		}
		img := r.Images[0]
		if img.Bytes != nil {
			p := filepath.Join(dir, fmt.Sprintf("peer-image-%d", i))
			if err := os.WriteFile(p, img.Bytes, 0o644); err != nil {
				return nil, fmt.Errorf("bench: request %s: %w", r.ID, err)
			}
			img.Path = p
		}
		if img.Path == "" {
			return nil, fmt.Errorf("bench: request %s: image has neither bytes nor a path", r.ID)
		}
		abs, err := filepath.Abs(img.Path)
		if err != nil {
			return nil, fmt.Errorf("bench: request %s: %w", r.ID, err)
		}
		out[i].Image = abs
	}
	return out, nil
}

// FindTestTools returns the testtools folder holding TJSScript and an
// installed @huggingface/transformers: dir itself when it is one, else the
// first <ancestor>/testtools walking up from dir.
func FindTestTools(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("bench: %w", err)
	}
	ok := func(d string) bool {
		_, e1 := os.Stat(filepath.Join(d, TJSScript))
		_, e2 := os.Stat(filepath.Join(d, "node_modules", "@huggingface", "transformers", "package.json"))
		return e1 == nil && e2 == nil
	}
	if ok(abs) {
		return abs, nil
	}
	for d := abs; ; d = filepath.Dir(d) {
		if t := filepath.Join(d, "testtools"); ok(t) {
			return t, nil
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	return "", fmt.Errorf("bench: %w: no testtools/%s with node_modules/@huggingface/transformers at or above %s (run `make testtools`)", ErrNoTJS, TJSScript, abs)
}

// TJSPeer configures the transformers.js peer: greedy, batch 1, on the
// same model directory and intra-op thread count as the runner.
type TJSPeer struct {
	// TestTools is the folder with TJSScript and node_modules.
	TestTools string
	// Node is the node executable ("" = node from PATH).
	Node     string
	ModelDir string
	// DType is the transformers.js dtype (fp32, fp16, q8, ...; "" = fp32).
	DType string
	// Device is cpu or cuda ("" = cpu).
	Device string
	// Threads is the ONNX Runtime intra-op thread count (0 = ORT default).
	Threads int
	// Warmup passes over all cases run in the peer process, untimed, before
	// its timed pass (after model load, like the runner's warmup passes).
	Warmup                     int
	MaxNewTokens, MinNewTokens int
}

// PeerConfig writes cases to casesPath and returns the configuration that
// runs the peer: each pass is one node process that loads the model, runs
// the warmup passes and then prints one timed line per case.
func (p TJSPeer) PeerConfig(ctx context.Context, name string, cases []TJSCase, casesPath string, repeats int) (PeerConfig, error) {
	if len(cases) == 0 {
		return PeerConfig{}, errors.New("bench: transformers.js peer: no cases")
	}
	if p.MaxNewTokens < 1 || p.MinNewTokens < 0 || p.MinNewTokens > p.MaxNewTokens || p.Threads < 0 || p.Warmup < 0 {
		return PeerConfig{}, fmt.Errorf("bench: transformers.js peer: want 0 <= min (%d) <= max (%d) new tokens, max >= 1, threads (%d) and warmup (%d) >= 0",
			p.MinNewTokens, p.MaxNewTokens, p.Threads, p.Warmup)
	}
	device := p.Device
	switch device {
	case "", "cpu":
		device = "cpu"
	case "cuda", "cuda:0":
		device = "cuda"
	default:
		return PeerConfig{}, fmt.Errorf("bench: transformers.js peer: device %q: want cpu or cuda", p.Device)
	}
	dtype := p.DType
	if dtype == "" {
		dtype = "fp32"
	}
	node := p.Node
	if node == "" {
		node = "node"
	}
	nodePath, err := exec.LookPath(node)
	if err != nil {
		return PeerConfig{}, fmt.Errorf("bench: %w: %v", ErrNoTJS, err)
	}
	script := filepath.Join(p.TestTools, TJSScript)
	if _, err := os.Stat(script); err != nil {
		return PeerConfig{}, fmt.Errorf("bench: %w: %v", ErrNoTJS, err)
	}
	model, err := filepath.Abs(p.ModelDir)
	if err != nil {
		return PeerConfig{}, fmt.Errorf("bench: %w", err)
	}
	b, err := json.Marshal(cases)
	if err != nil {
		return PeerConfig{}, fmt.Errorf("bench: transformers.js cases: %w", err)
	}
	if err := os.WriteFile(casesPath, b, 0o644); err != nil {
		return PeerConfig{}, fmt.Errorf("bench: transformers.js cases: %w", err)
	}
	cfg := PeerConfig{
		Name: name,
		Argv: []string{nodePath, script,
			"--max-new-tokens", strconv.Itoa(p.MaxNewTokens), "--min-new-tokens", strconv.Itoa(p.MinNewTokens),
			"--threads", strconv.Itoa(p.Threads), "--warmup", strconv.Itoa(p.Warmup),
			"--device", device, "--dtype", dtype, model, casesPath},
		Dir:     p.TestTools,
		Repeats: repeats,
	}
	nodeVersion, err := commandOutput(ctx, nodePath, "--version")
	if err != nil {
		return PeerConfig{}, fmt.Errorf("bench: %w: %s --version: %v", ErrNoTJS, nodePath, err)
	}
	rt := fmt.Sprintf("transformers.js %s, onnxruntime-node %s, node %s",
		packageVersion(p.TestTools, "@huggingface/transformers"), packageVersion(p.TestTools, "onnxruntime-node"), nodeVersion)
	cfg.Info = runners.Info{
		Name:    "transformers.js",
		Model:   p.ModelDir,
		Device:  device,
		Runtime: rt,
		Settings: map[string]any{
			"dtype": dtype, "threads": p.Threads, "warmup_in_process": p.Warmup, "batch": 1, "do_sample": false,
			"max_new_tokens": p.MaxNewTokens, "min_new_tokens": p.MinNewTokens, "script": script,
			"timed": "per case: image read, chat template, preprocessing, tokenization, generate() and decoding (as Runner.Generate)",
		},
	}
	return cfg, nil
}

// packageVersion reads an installed npm package's version ("unknown" when
// it cannot be read).
func packageVersion(testtools, pkg string) string {
	b, err := os.ReadFile(filepath.Join(testtools, "node_modules", filepath.FromSlash(pkg), "package.json"))
	if err != nil {
		return "unknown"
	}
	var v struct {
		Version string `json:"version"`
	}
	if json.Unmarshal(b, &v) != nil || v.Version == "" {
		return "unknown"
	}
	return v.Version
}

func commandOutput(ctx context.Context, name string, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, name, args...).Output()
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}
