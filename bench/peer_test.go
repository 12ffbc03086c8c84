package bench

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/medbench/medbench/runners"
)

func TestParseLoadAvg(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want [3]float64
		err  string
	}{
		{"0.52 1.10 2.00 3/456 7890\n", [3]float64{0.52, 1.1, 2}, ""},
		{"14.78 11.97 8.20 1/1 1", [3]float64{14.78, 11.97, 8.2}, ""},
		{"1.0 2.0", [3]float64{}, "want 3 load fields"},
		{"1.0 x 2.0 1/1 1", [3]float64{}, "field 2"},
	} {
		got, err := parseLoadAvg(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: got %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	if _, err := os.Stat(loadAvgPath); err == nil {
		l, err := ReadLoadAvg()
		if err != nil || l[0] < 0 {
			t.Errorf("ReadLoadAvg = %v, %v", l, err)
		}
	}
}

func TestRatioJSON(t *testing.T) {
	zero := &Result{}
	a := &Result{SamplesPerSec: Stat{Median: 2, Min: 1, Max: 3}, TokensPerSec: Stat{Median: 20, Min: 10, Max: 30}}
	rep := Report{Results: []*Result{a, zero}, Baseline: "zero", Ratios: map[string][]Ratio{"a": Compare(a, zero), "self": Compare(a, a)}}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatalf("a report with an undefined ratio must encode: %v", err)
	}
	if !strings.Contains(string(b), `{"metric":"samples_per_sec","median":null,"low":null,"high":null}`) {
		t.Errorf("undefined ratio not written as null: %s", b)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if r := back.Ratios["a"][1]; r.Metric != "tokens_per_sec" || !math.IsNaN(r.Median) || !math.IsNaN(r.Low) || !math.IsNaN(r.High) {
		t.Errorf("null ratio read back as %+v", r)
	}
	// Self ratio: median 1, low min/max = 1/3, high max/min = 3.
	if r := back.Ratios["self"][0]; r.Median != 1 || math.Abs(r.Low-1.0/3) > 1e-15 || r.High != 3 {
		t.Errorf("self ratio %+v", r)
	}
	if err := json.Unmarshal([]byte(`{"metric":"x","median":"fast"}`), &Ratio{}); err == nil || !strings.Contains(err.Error(), "bench: ratio") {
		t.Errorf("bad ratio: %v", err)
	}
}

func TestRunRecordsFirstErrorAndLoad(t *testing.T) {
	f := &fakeRunner{failID: "b"}
	res, err := Run(context.Background(), Config{Name: "fake", Runner: f, Requests: reqs(3), Batch: 3})
	if err != nil {
		t.Fatal(err)
	}
	p := res.Passes[0]
	if p.Errors != 1 || p.FirstError != "request b: bad image" {
		t.Errorf("errors %d, first %q", p.Errors, p.FirstError)
	}
	if _, err := os.Stat(loadAvgPath); err == nil && res.Load == nil {
		t.Error("no load average recorded on Linux")
	}
}

func TestRunPeerPromptTokensAndInfo(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "peer.sh")
	body := "#!/bin/sh\necho '{\"ids\":[1,2],\"ms\":50,\"generate_ms\":40,\"prompt_tokens\":30}'\necho '{\"ids\":[3,4],\"ms\":150,\"prompt_tokens\":12}'\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	info := runners.Info{Name: "transformers.js", Device: "cpu"}
	res, err := RunPeer(context.Background(), PeerConfig{Name: "peer", Argv: []string{script}, Repeats: 1, Info: info})
	if err != nil {
		t.Fatal(err)
	}
	p := res.Passes[0]
	if p.PromptTokens != 42 || p.GeneratedTokens != 4 || !slices.Equal(p.BatchLatenciesMS, []float64{50, 150}) || p.Seconds != 0.2 || p.GenerateSeconds != 0.04 {
		t.Errorf("pass %+v", p)
	}
	if res.Runner.Name != "transformers.js" || res.Runner.Device != "cpu" {
		t.Errorf("runner info %+v", res.Runner)
	}
}

func TestTJSCases(t *testing.T) {
	dir := t.TempDir()
	png := []byte("\x89PNG\r\n\x1a\nnot really")
	got, err := TJSCases([]runners.Request{
		{ID: "0", Text: "a", Images: []runners.Image{{Path: "rel/img.png"}}},
		{ID: "1", Text: "b", Images: []runners.Image{{Path: "ignored.png", Bytes: png}}},
		{ID: "2", Text: "c"},
	}, dir)
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	if got[0] != (TJSCase{Image: filepath.Join(wd, "rel/img.png"), Text: "a"}) || got[2] != (TJSCase{Text: "c"}) {
		t.Errorf("cases %+v", got)
	}
	if b, err := os.ReadFile(got[1].Image); err != nil || string(b) != string(png) || filepath.Dir(got[1].Image) != dir {
		t.Errorf("embedded image written to %s: %q, %v", got[1].Image, b, err)
	}
	for _, tc := range []struct {
		req runners.Request
		msg string
	}{
		{runners.Request{ID: "7", Images: []runners.Image{{Path: "a"}, {Path: "b"}}}, "request 7 has 2 images"},
		{runners.Request{ID: "8", Images: []runners.Image{{}}}, "request 8: image has neither"},
	} {
		if _, err := TJSCases([]runners.Request{tc.req}, dir); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v", tc.msg, err)
		}
	}
}

// fakeTestTools makes a testtools folder with the script, fake package
// versions and a fake node executable printing a version.
func fakeTestTools(t *testing.T, root string) (testtools, node string) {
	t.Helper()
	testtools = filepath.Join(root, "testtools")
	for pkg, v := range map[string]string{"@huggingface/transformers": "4.3.1", "onnxruntime-node": "1.29.0"} {
		d := filepath.Join(testtools, "node_modules", filepath.FromSlash(pkg))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(d, "package.json"), []byte(`{"name":"`+pkg+`","version":"`+v+`"}`), 0o644)
	}
	os.WriteFile(filepath.Join(testtools, TJSScript), []byte("// peer\n"), 0o644)
	node = filepath.Join(root, "fake-node")
	os.WriteFile(node, []byte("#!/bin/sh\necho v99.0.0\n"), 0o755)
	return testtools, node
}

func TestFindTestTools(t *testing.T) {
	root := t.TempDir()
	tt, _ := fakeTestTools(t, root)
	deep := filepath.Join(root, "a", "b")
	os.MkdirAll(deep, 0o755)
	for _, start := range []string{root, deep, tt} {
		if got, err := FindTestTools(start); err != nil || got != tt {
			t.Errorf("from %s: %q, %v; want %s", start, got, err, tt)
		}
	}
	if _, err := FindTestTools(t.TempDir()); !errors.Is(err, ErrNoTJS) || !strings.Contains(err.Error(), "make testtools") {
		t.Errorf("no testtools: %v", err)
	}
	// A testtools folder without node_modules is not usable.
	bare := t.TempDir()
	os.MkdirAll(filepath.Join(bare, "testtools"), 0o755)
	os.WriteFile(filepath.Join(bare, "testtools", TJSScript), nil, 0o644)
	if _, err := FindTestTools(bare); !errors.Is(err, ErrNoTJS) {
		t.Errorf("testtools without node_modules: %v", err)
	}
}

func TestTJSPeerConfig(t *testing.T) {
	root := t.TempDir()
	tt, node := fakeTestTools(t, root)
	cases := []TJSCase{{Image: "/x.png", Text: "q"}}
	casesPath := filepath.Join(root, "cases.json")
	p := TJSPeer{TestTools: tt, Node: node, ModelDir: "model", Device: "cuda:0", Threads: 2, Warmup: 1, MaxNewTokens: 16, MinNewTokens: 16}
	cfg, err := p.PeerConfig(context.Background(), "tjs", cases, casesPath, 3)
	if err != nil {
		t.Fatal(err)
	}
	model, _ := filepath.Abs("model")
	want := []string{node, filepath.Join(tt, TJSScript), "--max-new-tokens", "16", "--min-new-tokens", "16", "--threads", "2",
		"--warmup", "1", "--device", "cuda", "--dtype", "fp32", model, casesPath}
	if !slices.Equal(cfg.Argv, want) || cfg.Dir != tt || cfg.Repeats != 3 || cfg.Warmup != 0 {
		t.Errorf("config %+v\nwant argv %q", cfg, want)
	}
	if cfg.Info.Runtime != "transformers.js 4.3.1, onnxruntime-node 1.29.0, node v99.0.0" || cfg.Info.Device != "cuda" || cfg.Info.Settings["threads"] != 2 {
		t.Errorf("info %+v", cfg.Info)
	}
	b, _ := os.ReadFile(casesPath)
	if string(b) != `[{"image":"/x.png","text":"q"}]` {
		t.Errorf("cases file %s", b)
	}
	for _, tc := range []struct {
		mod func(*TJSPeer)
		msg string
		no  bool
	}{
		{func(p *TJSPeer) { p.Device = "cuda:1" }, `device "cuda:1"`, false},
		{func(p *TJSPeer) { p.MinNewTokens = 17 }, "min (17) <= max (16)", false},
		{func(p *TJSPeer) { p.Threads = -1 }, "threads (-1)", false},
		{func(p *TJSPeer) { p.Node = filepath.Join(root, "no-node") }, "no-node", true},
		{func(p *TJSPeer) { p.TestTools = root }, TJSScript, true},
	} {
		q := p
		tc.mod(&q)
		_, err := q.PeerConfig(context.Background(), "tjs", cases, casesPath, 1)
		if err == nil || !strings.Contains(err.Error(), tc.msg) || errors.Is(err, ErrNoTJS) != tc.no {
			t.Errorf("%s: %v", tc.msg, err)
		}
	}
	if _, err := p.PeerConfig(context.Background(), "tjs", nil, casesPath, 1); err == nil {
		t.Error("no cases accepted")
	}
}

func TestMerge(t *testing.T) {
	part := func(sec float64, before, after float64) *Result {
		r := &Result{Name: "x", Batch: 2, Requests: 4, Load: &Load{Before: [3]float64{before}, After: [3]float64{after}},
			Passes: []Pass{{Seconds: sec, Samples: 4, GeneratedTokens: 40, BatchLatenciesMS: []float64{1000 * sec / 2, 1000 * sec / 2}}}}
		r.summarize()
		return r
	}
	m, err := Merge(part(1, 5, 6), part(2, 6, 7), part(4, 7, 8))
	if err != nil {
		t.Fatal(err)
	}
	// samples/s per pass: 4, 2, 1.
	if len(m.Passes) != 3 || m.SamplesPerSec.Median != 2 || m.SamplesPerSec.Min != 1 || m.SamplesPerSec.Max != 4 || m.TokensPerSec.Median != 20 {
		t.Errorf("merged %+v / %+v", m.SamplesPerSec, m.TokensPerSec)
	}
	// Latencies 500,500,1000,1000,2000,2000: p50 = 1000, p90 = 2000.
	if m.P50MS != 1000 || m.P90MS != 2000 || m.LatencyMS.N != 6 {
		t.Errorf("latency p50 %v p90 %v n %d", m.P50MS, m.P90MS, m.LatencyMS.N)
	}
	if m.Load == nil || m.Load.Before[0] != 5 || m.Load.After[0] != 8 {
		t.Errorf("load %+v", m.Load)
	}
	first := part(1, 5, 6)
	if _, err := Merge(first, first); err != nil || first.Load.After[0] != 6 || len(first.Passes) != 1 {
		t.Errorf("Merge changed its input: %+v, %v", first, err)
	}
	noLoad := part(1, 0, 0)
	noLoad.Load = nil
	if m, err := Merge(part(1, 5, 6), noLoad); err != nil || m.Load != nil {
		t.Errorf("load with a part lacking it: %+v, %v", m.Load, err)
	}
	other := part(1, 0, 0)
	other.Batch = 3
	if _, err := Merge(part(1, 0, 0), other); err == nil || !strings.Contains(err.Error(), "part 1 is x batch 3") {
		t.Errorf("mismatched parts: %v", err)
	}
	if _, err := Merge(); err == nil {
		t.Error("empty merge accepted")
	}
}
