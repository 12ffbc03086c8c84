package merge

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/medbench/medbench/datasets"
	"github.com/medbench/medbench/evaluate"
	"github.com/medbench/medbench/records"
	"github.com/medbench/medbench/runners"
)

// echoRunner answers the solution for ids divisible by 3, "A" otherwise,
// and fails id 4; its latency is constant so records compare byte for byte.
type echoRunner struct{ sol map[string]string }

func (r echoRunner) Generate(_ context.Context, reqs []runners.Request) ([]runners.Result, error) {
	out := make([]runners.Result, len(reqs))
	for i, q := range reqs {
		id, _ := strconv.Atoi(q.ID)
		ans := "A"
		if id%3 == 0 {
			ans = r.sol[q.ID]
		}
		out[i] = runners.Result{ID: q.ID, Text: "<answer>" + ans + "</answer>", TokenIDs: []int{id, 1}, CompletionTokens: 2, Latency: time.Millisecond}
		if id == 4 {
			out[i] = runners.Result{ID: q.ID, Err: errors.New("echo: image unreadable")}
		}
	}
	return out, nil
}
func (echoRunner) Info() runners.Info { return runners.Info{Name: "echo", Model: "m"} }
func (echoRunner) Close() error       { return nil }

func testSamples(n int) []datasets.Item {
	var out []datasets.Item
	for i := range n {
		mod := []string{"MRI", "CT", "Xray"}[i%3]
		opts := []string{"a", "b", "c", "d"}
		q := fmt.Sprintf("Question %d?", i)
		out = append(out, datasets.Item{Index: i, Modality: mod, ImagePaths: []string{fmt.Sprintf("img/%d.png", i)},
			Record: datasets.Record{Image: []string{fmt.Sprintf("img/%d.png", i)}, Problem: datasets.BuildProblem(q, opts),
				Solution: string(rune('A' + i%4)), Question: q, Options: opts, Answer: opts[i%4], Dataset: "t", Subset: mod}})
	}
	return out
}

// evalRun writes one run (a shard when n > 0) of samples in the order given.
func evalRun(t *testing.T, dir string, samples []datasets.Item, batch int, shard evaluate.Shard) {
	t.Helper()
	var ps []datasets.Template
	for _, name := range []string{"simple", "complex"} {
		p, err := datasets.BuiltinTemplate(name)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	sol := map[string]string{}
	for _, s := range samples {
		sol[s.ID()] = s.Record.Solution
	}
	m := records.Manifest{Seed: 7, Dataset: records.Dataset{SHA256: "d4", Selection: "subset", Modalities: []string{"MRI", "CT", "Xray"}},
		Runner: runners.Info{Name: "echo", Files: map[string]string{"model.onnx": "ab12"}}}
	_, err := evaluate.Run(context.Background(), evaluate.Config{Samples: samples, Prompts: ps, Runner: echoRunner{sol}, Batch: batch,
		OutDir: dir, Manifest: m, SeedFiles: true, Shard: shard})
	if err != nil {
		t.Fatal(err)
	}
}

func shardRuns(t *testing.T, samples []datasets.Item, n int) []string {
	t.Helper()
	root := t.TempDir()
	var dirs []string
	for i := range n {
		d := filepath.Join(root, fmt.Sprintf("shard-%d", i))
		evalRun(t, d, samples, 1+i, evaluate.Shard{Index: i, Count: n})
		dirs = append(dirs, d)
	}
	return dirs
}

var createdRe = regexp.MustCompile(`"created": "[^"]*"`)

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMergeEqualsUnsharded: 4 shards (batch sizes 1-4, given in reverse
// order) merge into a record whose samples.jsonl, seed-format files and
// samples.parquet equal an unsharded run's byte for byte, and whose
// summary.json does apart from its creation time.
func TestMergeEqualsUnsharded(t *testing.T) {
	samples := testSamples(30)
	ref := filepath.Join(t.TempDir(), "ref")
	evalRun(t, ref, samples, 3, evaluate.Shard{})
	dirs := shardRuns(t, samples, 4)
	slices.Reverse(dirs)
	out := filepath.Join(t.TempDir(), "merged")
	res, err := Runs(context.Background(), dirs, out, Options{Command: []string{"medbench", "merge"}})
	if err != nil {
		t.Fatal(err)
	}
	names := []string{records.SamplesFile, records.ParquetFile}
	for _, mod := range []string{"MRI", "CT", "Xray"} {
		for _, p := range []string{"simple", "complex"} {
			names = append(names, records.SeedFileName(mod, p))
		}
	}
	for _, name := range names {
		if a, b := read(t, filepath.Join(out, name)), read(t, filepath.Join(ref, name)); !bytes.Equal(a, b) {
			t.Errorf("%s differs from the unsharded run's (%d vs %d bytes)", name, len(a), len(b))
		}
	}
	a := createdRe.ReplaceAll(read(t, filepath.Join(out, records.SummaryFile)), nil)
	b := createdRe.ReplaceAll(read(t, filepath.Join(ref, records.SummaryFile)), nil)
	if !bytes.Equal(a, b) || !bytes.Contains(a, []byte(`"errors": 2`)) {
		t.Errorf("summary.json differs:\n%s\nunsharded:\n%s", a, b)
	}
	if res.Summary.Partial || len(res.Missing) != 0 || res.Summary.Samples != 60 {
		t.Errorf("result %+v", res.Summary)
	}
	var m records.Manifest
	if err := records.ReadJSON(filepath.Join(out, records.ManifestFile), &m); err != nil {
		t.Fatal(err)
	}
	if m.Shard != nil || m.Merge == nil || m.Merge.Count != 4 || len(m.Merge.Runs) != 4 || m.Merge.Partial || m.Finished.IsZero() || m.Dataset.N != 30 {
		t.Fatalf("merged manifest: %+v", m)
	}
	total := 0
	for i, r := range m.Merge.Runs {
		sum := sha256.Sum256(read(t, filepath.Join(r.Dir, records.SamplesFile)))
		if r.Index != i || r.SamplesSHA256 != hex.EncodeToString(sum[:]) || !r.Finished || len(r.ManifestSHA256) != 64 {
			t.Errorf("merged run %d: %+v", i, r)
		}
		total += r.Samples
	}
	if total != 60 {
		t.Errorf("shard samples add up to %d", total)
	}
	if _, err := Runs(context.Background(), dirs, out, Options{}); err == nil || !strings.Contains(err.Error(), "already holds a run") {
		t.Errorf("merge into an existing record: %v", err)
	}
}

// TestMergeMissing: a shard left out makes merge fail listing exactly that
// shard's keys; --allow-partial writes a record marked partial.
func TestMergeMissing(t *testing.T) {
	samples := testSamples(30)
	dirs := shardRuns(t, samples, 4)
	var want []string
	for _, p := range []string{"simple", "complex"} {
		for _, s := range samples {
			if evaluate.ShardOf(s.ID(), 4) == 2 {
				want = append(want, p+"/"+s.ID())
			}
		}
	}
	given := []string{dirs[0], dirs[1], dirs[3]}
	_, err := Runs(context.Background(), given, filepath.Join(t.TempDir(), "m"), Options{})
	var me *MissingError
	if !errors.As(err, &me) || !slices.Equal(me.Keys, want) || !slices.Equal(me.Shards, []int{2}) {
		t.Fatalf("missing shard: %v", err)
	}
	for _, k := range want {
		if !strings.Contains(err.Error(), k+",") && !strings.Contains(err.Error(), k+";") {
			t.Errorf("error does not name %s: %v", k, err)
		}
	}
	out := filepath.Join(t.TempDir(), "partial")
	res, err := Runs(context.Background(), given, out, Options{AllowPartial: true})
	if err != nil {
		t.Fatal(err)
	}
	run, err := records.ReadRun(out)
	if err != nil {
		t.Fatal(err)
	}
	if !run.Summary.Partial || !run.Manifest.Merge.Partial || !slices.Equal(run.Manifest.Merge.Missing, want) ||
		len(run.Samples) != 60-len(want) || !slices.Equal(res.Missing, want) {
		t.Errorf("partial record: summary partial %v, manifest %+v, %d samples", run.Summary.Partial, run.Manifest.Merge, len(run.Samples))
	}

	// A shard cut short (its last samples lost) is reported sample by sample.
	sp := filepath.Join(dirs[1], records.SamplesFile)
	ss, _, err := records.ReadSamples(sp)
	if err != nil {
		t.Fatal(err)
	}
	b := read(t, sp)
	lines := bytes.SplitAfter(b, []byte("\n"))
	os.WriteFile(sp, bytes.Join(lines[:len(lines)-3], nil), 0o644) // drop the last two lines
	_, err = Runs(context.Background(), dirs, filepath.Join(t.TempDir(), "m2"), Options{})
	if !errors.As(err, &me) || len(me.Keys) != 2 || len(me.Shards) != 0 ||
		!slices.Contains(me.Keys, ss[len(ss)-1].Key()) || !slices.Contains(me.Keys, ss[len(ss)-2].Key()) {
		t.Errorf("cut-short shard: %v", err)
	}
}

// TestMergeRefuses: runs that are not shards of one evaluation, a shard
// given twice, a sample in the wrong shard and a duplicated sample.
func TestMergeRefuses(t *testing.T) {
	samples := testSamples(24)
	dirs := shardRuns(t, samples, 3)
	ctx := context.Background()
	try := func(name string, dirs []string, want string) {
		t.Helper()
		_, err := Runs(ctx, dirs, filepath.Join(t.TempDir(), "m"), Options{AllowPartial: true})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error containing %q", name, err, want)
		}
	}
	try("shard given twice", []string{dirs[0], dirs[1], dirs[1], dirs[2]}, "shard 1/3 given twice")

	unsharded := filepath.Join(t.TempDir(), "whole")
	evalRun(t, unsharded, samples, 2, evaluate.Shard{})
	try("unsharded run", []string{dirs[0], unsharded}, "not a shard run")

	other := filepath.Join(t.TempDir(), "four")
	evalRun(t, other, samples, 2, evaluate.Shard{Index: 3, Count: 4})
	try("other count", []string{dirs[0], dirs[1], other}, "do not split the same selection")

	fewer := filepath.Join(t.TempDir(), "fewer")
	evalRun(t, fewer, samples[:20], 2, evaluate.Shard{Index: 2, Count: 3})
	try("other selection", []string{dirs[0], dirs[1], fewer}, "dataset.n differs")

	// Another seed: one of the result-affecting manifest fields.
	mp := filepath.Join(dirs[2], records.ManifestFile)
	orig := read(t, mp)
	var m records.Manifest
	records.ReadJSON(mp, &m)
	m.Seed = 8
	records.WriteJSON(mp, m)
	try("other seed", dirs, "field seed differs")
	os.WriteFile(mp, orig, 0o644)

	// A sample of shard 0 appended to shard 1.
	s0, _, _ := records.ReadSamples(filepath.Join(dirs[0], records.SamplesFile))
	sp := filepath.Join(dirs[1], records.SamplesFile)
	orig = read(t, sp)
	line, _ := jsonLine(s0[0])
	os.WriteFile(sp, append(append([]byte(nil), orig...), line...), 0o644)
	try("wrong shard", dirs, fmt.Sprintf("(%s): belongs to shard 0/3, recorded in shard 1", s0[0].Key()))

	// A sample recorded twice in its own shard.
	s1, _, _ := records.ReadSamples(sp)
	line, _ = jsonLine(s1[2])
	os.WriteFile(sp, append(append([]byte(nil), orig...), line...), 0o644)
	// (Named by merge, or by the samples reader where it refuses duplicates.)
	try("duplicate", dirs, s1[2].Key())
	os.WriteFile(sp, orig, 0o644)

	if _, err := Runs(ctx, dirs, filepath.Join(t.TempDir(), "ok"), Options{}); err != nil {
		t.Errorf("restored shards: %v", err)
	}
}

func jsonLine(s records.ScoredSample) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(s)
	return buf.Bytes(), err
}
