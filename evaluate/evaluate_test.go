package evaluate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medbench/medbench/datasets"
	"github.com/medbench/medbench/internal/termbar"
	"github.com/medbench/medbench/metrics"
	"github.com/medbench/medbench/records"
	"github.com/medbench/medbench/runners"
	"github.com/medbench/medbench/sampler"
)

// fakeRunner answers from the request: samples with an even id answer the
// solution, odd ids answer "A"; id 3 fails; optional hooks per call.
type fakeRunner struct {
	mu     sync.Mutex
	calls  int
	seen   map[string]int    // key -> times generated
	seeds  map[string]uint64 // key -> request seed
	sol    map[string]string
	onCall func(call int) error // runs before answering; an error is an infrastructure failure
	bound  int
	swap   bool // return the batch's results reversed
}

func newFake(samples []datasets.Item) *fakeRunner {
	f := &fakeRunner{seen: map[string]int{}, seeds: map[string]uint64{}, sol: map[string]string{}}
	for _, s := range samples {
		f.sol[s.ID()] = s.Record.Solution
	}
	return f
}

func (f *fakeRunner) Bind(s []datasets.Item) error { f.bound = len(s); return nil }

func (f *fakeRunner) Generate(ctx context.Context, reqs []runners.Request) ([]runners.Result, error) {
	f.mu.Lock()
	f.calls++
	call := f.calls
	hook := f.onCall
	f.mu.Unlock()
	if hook != nil {
		if err := hook(call); err != nil {
			return nil, err
		}
	}
	out := make([]runners.Result, len(reqs))
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, r := range reqs {
		k := r.Prompt + "/" + r.ID
		f.seen[k]++
		f.seeds[k] = r.Seed
		var id int
		fmt.Sscan(r.ID, &id)
		res := runners.Result{ID: r.ID, PromptTokens: 10, CompletionTokens: 5, TokenIDs: []int{1, 2, 3, 4, 5}, FinishReason: "eos", Latency: time.Millisecond}
		switch {
		case id == 3:
			res.Err = errors.New("fake: bad image")
		case id%2 == 0 && r.Prompt == "simple":
			res.Text = f.sol[r.ID]
		case id%2 == 0:
			res.Text = "<think>x</think><answer>" + f.sol[r.ID] + "</answer>"
		case r.Prompt == "simple":
			res.Text = f.sol[r.ID] + "."
		default:
			res.Text = "<answer>(" + f.sol[r.ID] + ")</answer>"
		}
		if !strings.Contains(r.Text, "Question ") {
			res.Err = fmt.Errorf("fake: prompt not rendered: %q", r.Text)
		}
		out[i] = res
	}
	if f.swap {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out, nil
}

func (f *fakeRunner) Info() runners.Info { return runners.Info{Name: "fake", Model: "m"} }
func (f *fakeRunner) Close() error       { return nil }

func testSamples(n int) []datasets.Item {
	var out []datasets.Item
	for i := range n {
		mod := "MRI"
		if i >= n/2 {
			mod = "CT"
		}
		opts := []string{"alpha", "beta", "gamma", "delta"}
		sol := string(rune('A' + i%4))
		q := fmt.Sprintf("Question %d?", i)
		out = append(out, datasets.Item{Index: i, Modality: mod, ImagePaths: []string{fmt.Sprintf("img/%d.png", i)},
			Record: datasets.Record{Image: []string{fmt.Sprintf("images/%d.png", i)}, Problem: datasets.BuildProblem(q, opts),
				Solution: sol, Question: q, Options: opts, Answer: opts[i%4], Dataset: "t", Subset: mod}})
	}
	return out
}

func prompts(t *testing.T) []datasets.Template {
	var ps []datasets.Template
	for _, n := range []string{"simple", "complex"} {
		p, err := datasets.BuiltinTemplate(n)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	return ps
}

func config(t *testing.T, samples []datasets.Item, r runners.Runner, dir string, batch int) Config {
	return Config{Samples: samples, Prompts: prompts(t), Runner: r, Batch: batch, OutDir: dir,
		Manifest: records.Manifest{Seed: 42, Dataset: records.Dataset{SHA256: "abc"}, Runner: runners.Info{Name: "fake"}}}
}

func TestRun(t *testing.T) {
	samples := testSamples(8)
	f := newFake(samples)
	dir := t.TempDir()
	var log bytes.Buffer
	cfg := config(t, samples, f, dir, 3)
	cfg.Progress = &log
	cfg.SeedFiles = true
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if f.bound != 8 {
		t.Errorf("Bind got %d samples", f.bound)
	}
	if sum.Samples != 16 || sum.Errors != 2 {
		t.Errorf("summary: %d samples, %d errors", sum.Samples, sum.Errors)
	}
	// MRI = ids 0-3: 0, 2 right under strict; 1 "B." / "(B)" right only under
	// lenient; 3 failed. CT = ids 4-7: 4, 6 right; 5, 7 lenient only.
	type row struct {
		mod, prompt, pol          string
		n, correct, parse, errors int
	}
	var got []row
	for _, c := range sum.Cells {
		got = append(got, row{c.Modality, c.Prompt, c.Policy, c.N, c.Correct, c.ParseFailures, c.Errors})
	}
	want := []row{
		{"CT", "complex", "lenient", 4, 4, 0, 0}, {"CT", "complex", "strict", 4, 2, 2, 0},
		{"CT", "simple", "lenient", 4, 4, 0, 0}, {"CT", "simple", "strict", 4, 2, 2, 0},
		{"MRI", "complex", "lenient", 4, 3, 1, 1}, {"MRI", "complex", "strict", 4, 2, 2, 1},
		{"MRI", "simple", "lenient", 4, 3, 1, 1}, {"MRI", "simple", "strict", 4, 2, 2, 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("cells:\n got %v\nwant %v", got, want)
	}
	run, err := records.ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Samples) != 16 || run.Summary == nil || run.Manifest.Finished.IsZero() {
		t.Fatalf("run record incomplete: %d samples", len(run.Samples))
	}
	if !reflect.DeepEqual(run.Manifest.Policies, []string{"strict/v1", "lenient/v1"}) || len(run.Manifest.Prompts) != 2 || run.Manifest.Dataset.N != 8 {
		t.Errorf("manifest not completed: %+v", run.Manifest)
	}
	for _, s := range run.Samples {
		if s.Seed != sampler.SeedFor(42, s.Key(), sampler.RequestSeed) || len(s.Record) == 0 || s.Image == "" || s.Question == "" {
			t.Errorf("sample %s: seed %d, record %q", s.Key(), s.Seed, s.Record)
		}
		if s.Error == "" && (len(s.TokenIDs) != 5 || s.CompletionTokens != 5 || s.LatencyMS != 1) {
			t.Errorf("sample %s: token data %+v", s.Key(), s)
		}
	}
	for _, name := range []string{records.SeedFileName("MRI", "simple"), records.SeedFileName("CT", "complex"), records.ParquetFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
	if !strings.Contains(log.String(), "samples/s") || !strings.Contains(log.String(), "tokens/s") {
		t.Errorf("progress log: %q", log.String())
	}
	for k, n := range f.seen {
		if n != 1 {
			t.Errorf("%s generated %d times", k, n)
		}
	}
}

func TestSeedsIndependentOfBatch(t *testing.T) {
	samples := testSamples(6)
	a, b := newFake(samples), newFake(samples)
	if _, err := Run(context.Background(), config(t, samples, a, t.TempDir(), 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), config(t, samples, b, t.TempDir(), 4)); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.seeds, b.seeds) || len(a.seeds) != 12 {
		t.Errorf("seeds differ by batch size:\n%v\n%v", a.seeds, b.seeds)
	}
	distinct := map[uint64]bool{}
	for _, s := range a.seeds {
		distinct[s] = true
	}
	if len(distinct) != 12 {
		t.Errorf("only %d distinct seeds for 12 samples", len(distinct))
	}
	if sampler.SeedFor(1, "complex/0", sampler.RequestSeed) == sampler.SeedFor(2, "complex/0", sampler.RequestSeed) {
		t.Error("run seed ignored")
	}
}

func stripTimes(s *records.Summary) records.Summary {
	c := *s
	c.Created = time.Time{}
	return c
}

// TestCancelResume interrupts a run (context cancelled during the 3rd batch,
// as SIGINT does) and resumes it: every sample is generated exactly once and
// the summary equals an uninterrupted run's.
func TestCancelResume(t *testing.T) {
	samples := testSamples(10)
	ref, err := Run(context.Background(), config(t, samples, newFake(samples), t.TempDir(), 3))
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	f := newFake(samples)
	ctx, cancel := context.WithCancel(context.Background())
	f.onCall = func(call int) error {
		if call == 3 {
			cancel() // the batch in flight is still answered and written
		}
		return nil
	}
	if _, err := Run(ctx, config(t, samples, f, dir, 3)); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: err = %v", err)
	}
	got, _, err := records.ReadSamples(filepath.Join(dir, records.SamplesFile))
	if err != nil || len(got) != 9 {
		t.Fatalf("after cancel: %d samples recorded (want 9), err %v", len(got), err)
	}
	if _, err := os.Stat(filepath.Join(dir, records.SummaryFile)); err == nil {
		t.Fatal("interrupted run wrote a summary")
	}
	// Without --resume the directory is refused.
	f.onCall = nil
	if _, err := Run(context.Background(), config(t, samples, f, dir, 3)); err == nil {
		t.Fatal("rerun without resume accepted")
	}
	cfg := config(t, samples, f, dir, 3)
	cfg.Resume = true
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(stripTimes(sum), stripTimes(ref)) {
		t.Errorf("resumed summary differs:\n got %+v\nwant %+v", sum, ref)
	}
	if len(f.seen) != 20 {
		t.Errorf("%d distinct samples generated, want 20", len(f.seen))
	}
	for k, n := range f.seen {
		if n != 1 {
			t.Errorf("%s generated %d times", k, n)
		}
	}
	// Resuming with a different seed is refused, naming the field.
	cfg.Manifest.Seed = 43
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "seed") {
		t.Errorf("incompatible resume: %v", err)
	}
}

func TestRunnerErrorStopsResumably(t *testing.T) {
	samples := testSamples(6)
	dir := t.TempDir()
	f := newFake(samples)
	f.onCall = func(call int) error {
		if call == 2 {
			return errors.New("device lost")
		}
		return nil
	}
	_, err := Run(context.Background(), config(t, samples, f, dir, 4))
	if err == nil || !strings.Contains(err.Error(), "runner fake: device lost") {
		t.Fatalf("err = %v", err)
	}
	f.onCall = nil
	cfg := config(t, samples, f, dir, 4)
	cfg.Resume = true
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Samples != 12 {
		t.Errorf("%d samples after resume", sum.Samples)
	}
}

func TestConfigErrors(t *testing.T) {
	samples := testSamples(2)
	f := newFake(samples)
	cases := map[string]func(*Config){
		"no runner":     func(c *Config) { c.Runner = nil },
		"batch size":    func(c *Config) { c.Batch = 0 },
		"no prompts":    func(c *Config) { c.Prompts = nil },
		"no samples":    func(c *Config) { c.Samples = nil },
		"unique":        func(c *Config) { c.Prompts = append(c.Prompts, c.Prompts[0]) },
		"appears twice": func(c *Config) { c.Samples = append(c.Samples, c.Samples[0]) },
	}
	for want, mutate := range cases {
		cfg := config(t, samples, f, t.TempDir(), 1)
		mutate(&cfg)
		if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v", want, err)
		}
	}
}

func TestResultsOutOfOrder(t *testing.T) {
	samples := testSamples(4)
	f := newFake(samples)
	f.swap = true
	_, err := Run(context.Background(), config(t, samples, f, t.TempDir(), 2))
	if err == nil || !strings.Contains(err.Error(), "requested") {
		t.Errorf("err = %v", err)
	}
}

func TestPoliciesSubset(t *testing.T) {
	samples := testSamples(2)
	cfg := config(t, samples, newFake(samples), t.TempDir(), 2)
	cfg.Policies = []metrics.Policy{metrics.Lenient}
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range sum.Cells {
		if c.Policy != "lenient" {
			t.Errorf("unexpected policy %s", c.Policy)
		}
	}
}

// TestProgressBarPath drives the go-pretty bar: /dev/null is a character
// device, so it takes the terminal path.
func TestProgressBarPath(t *testing.T) {
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Skip(err)
	}
	defer devnull.Close()
	if !termbar.IsTerminal(devnull) {
		t.Skip("/dev/null is not a character device here")
	}
	samples := testSamples(6)
	cfg := config(t, samples, newFake(samples), t.TempDir(), 2)
	cfg.Progress = devnull
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if termbar.IsTerminal(&buf) {
		t.Error("a buffer is not a terminal")
	}
}
