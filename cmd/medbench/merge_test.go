package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/medbench/medbench/evaluate"
	"github.com/medbench/medbench/golden"
	"github.com/medbench/medbench/ort/ortlib"
	"github.com/medbench/medbench/records"
)

var summaryCreated = regexp.MustCompile(`"created": "[^"]*"`)

// sameRecord fails unless the run in got equals the run in want as an
// unsharded run writes it: summary.json byte for byte apart from its
// creation time, samples.jsonl sample for sample in the same order apart
// from latencies, and the seed-format files of want byte for byte.
func sameRecord(t *testing.T, got, want string) {
	t.Helper()
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a := summaryCreated.ReplaceAll(read(filepath.Join(got, records.SummaryFile)), nil)
	b := summaryCreated.ReplaceAll(read(filepath.Join(want, records.SummaryFile)), nil)
	if !bytes.Equal(a, b) {
		t.Errorf("summary.json differs:\n%s\nunsharded:\n%s", a, b)
	}
	ga, _, err := records.ReadSamples(filepath.Join(got, records.SamplesFile))
	if err != nil {
		t.Fatal(err)
	}
	wa, _, err := records.ReadSamples(filepath.Join(want, records.SamplesFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(ga) != len(wa) {
		t.Fatalf("%d samples merged, %d in the unsharded run", len(ga), len(wa))
	}
	for i := range wa {
		x, y := ga[i], wa[i]
		x.LatencyMS, y.LatencyMS = 0, 0
		if !reflect.DeepEqual(x, y) {
			t.Errorf("sample %d: merged %s %q, unsharded %s %q", i, x.Key(), x.Output, y.Key(), y.Output)
		}
	}
	seeds, _ := filepath.Glob(filepath.Join(want, "seed_*.json"))
	if len(seeds) == 0 {
		t.Fatal("unsharded run has no seed-format files")
	}
	for _, p := range seeds {
		if !bytes.Equal(read(p), read(filepath.Join(got, filepath.Base(p)))) {
			t.Errorf("%s differs", filepath.Base(p))
		}
	}
}

// shardKeys lists the keys (prompt/id) of shard i of n over ids 0..total-1.
func shardKeys(prompts []string, total, i, n int) []string {
	var out []string
	for _, p := range prompts {
		for id := range total {
			if evaluate.ShardOf(strconv.Itoa(id), n) == i {
				out = append(out, p+"/"+strconv.Itoa(id))
			}
		}
	}
	return out
}

// largestShard is the shard of n holding most of ids 0..total-1.
func largestShard(total, n int) int {
	best := 0
	for i := 1; i < n; i++ {
		if len(shardKeys([]string{"p"}, total, i, n)) > len(shardKeys([]string{"p"}, total, best, n)) {
			best = i
		}
	}
	return best
}

// TestEvalShardMergeReplay: `eval --shard I/4` on the replay runner, one
// shard given by $MEDBENCH_SHARD, the largest shard SIGKILLed mid-run.
// Merging before its resume fails (exit 2) naming every missing key, or
// with --allow-partial writes a partial record; after `eval --resume` the
// merged record equals the unsharded run's, and `check` passes it against
// a golden table blessed from the unsharded run.
func TestEvalShardMergeReplay(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the medbench binary")
	}
	bin := buildMedbench(t)
	const total, n = 30, 4
	data := evalSynth(t, total)
	outputs, _ := writeOutputs(t, data)
	args := func(out string, extra ...string) []string {
		return append([]string{"eval", "--data", data, "--runner", "replay", "--outputs", outputs, "--out", out}, extra...)
	}
	root := t.TempDir()
	ref := filepath.Join(root, "ref")
	if code, _, stderr := cliRun(t, args(ref, "--batch", "3")...); code != 0 {
		t.Fatal(stderr)
	}
	killed := largestShard(total, n)
	var dirs []string
	for i := range n {
		dir := filepath.Join(root, fmt.Sprintf("shard-%d", i))
		dirs = append(dirs, dir)
		switch {
		case i == killed:
			keys := len(shardKeys([]string{"simple", "complex"}, total, i, n))
			got := killMidRun(t, bin, args(dir, "--shard", fmt.Sprintf("%d/%d", i, n), "--batch", "1", "--replay-delay", "25ms"),
				filepath.Join(dir, records.SamplesFile), 4)
			if got >= keys {
				t.Fatalf("shard %d finished (%d of %d samples) before the kill", i, got, keys)
			}
			t.Logf("shard %d killed after %d of %d samples", i, got, keys)
		case i == (killed+1)%n:
			t.Setenv("MEDBENCH_SHARD", fmt.Sprintf("%d/%d", i, n))
			code, _, stderr := cliRun(t, args(dir, "--batch", "2")...)
			os.Unsetenv("MEDBENCH_SHARD")
			if code != 0 {
				t.Fatal(stderr)
			}
		default:
			if code, _, stderr := cliRun(t, args(dir, "--shard", fmt.Sprintf("%d/%d", i, n), "--batch", strconv.Itoa(i+1))...); code != 0 {
				t.Fatal(stderr)
			}
		}
		run, err := records.ReadRun(dir)
		if err != nil {
			t.Fatal(err)
		}
		if sh := run.Manifest.Shard; sh == nil || sh.Index != i || sh.Count != n || sh.Total != total {
			t.Fatalf("shard %d manifest: %+v", i, sh)
		}
	}

	for _, bad := range [][]string{{"merge", "--out", filepath.Join(root, "x")}, append([]string{"merge"}, dirs...), {"merge", dirs[0], "--bogus"}} {
		if code, _, stderr := cliRun(t, bad...); code != 2 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%v: exit %d, %q; want exit 2 and one line", bad, code, stderr)
		}
	}

	// Before the killed shard is resumed: every missing key named, exit 2.
	recorded, _, err := records.ReadSamples(filepath.Join(dirs[killed], records.SamplesFile))
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for _, k := range shardKeys([]string{"simple", "complex"}, total, killed, n) {
		if !slices.ContainsFunc(recorded, func(s records.ScoredSample) bool { return s.Key() == k }) {
			missing = append(missing, k)
		}
	}
	code, _, stderr := cliRun(t, append([]string{"merge", "--out", filepath.Join(root, "early")}, dirs...)...)
	if code != 2 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, fmt.Sprintf("%d samples missing", len(missing))) {
		t.Fatalf("merge with a killed shard: exit %d, %q", code, stderr)
	}
	for _, k := range missing {
		if !regexp.MustCompile(regexp.QuoteMeta(k) + `[,;]`).MatchString(stderr) {
			t.Errorf("merge error does not name %s", k)
		}
	}
	partial := filepath.Join(root, "partial")
	code, _, stderr = cliRun(t, append(append([]string{"merge", "--allow-partial"}, dirs...), "--out="+partial)...)
	if code != 0 || !strings.Contains(stderr, "partial record") {
		t.Fatalf("merge --allow-partial: exit %d, %q", code, stderr)
	}
	if s := readSummary(t, partial); !s.Partial || s.Samples != 2*total-len(missing) {
		t.Errorf("partial summary: %+v", s)
	}
	if _, _, stderr := cliRun(t, "compare", "--a", ref, "--b", partial); !strings.Contains(stderr, "partial merge") {
		t.Errorf("reading a partial merge does not warn: %q", stderr)
	}

	if code, _, stderr := cliRun(t, args(dirs[killed], "--shard", fmt.Sprintf("%d/%d", killed, n), "--batch", "2", "--resume")...); code != 0 {
		t.Fatalf("resume shard %d: %s", killed, stderr)
	}
	merged := filepath.Join(root, "merged")
	// The documented form: flags after the runs.
	if code, stdout, stderr := cliRun(t, append(append([]string{"merge"}, dirs...), "--out", merged)...); code != 0 || !strings.Contains(stdout, "60 samples") {
		t.Fatalf("merge: exit %d\n%s\n%s", code, stdout, stderr)
	}
	sameRecord(t, merged, ref)

	// compare.json of the unsharded run against the merged one: no item differs.
	cmpDir := filepath.Join(root, "cmp")
	if code, stdout, stderr := cliRun(t, "compare", "--a", ref, "--b", merged, "--out", cmpDir); code != 0 {
		t.Fatalf("compare: exit %d\n%s\n%s", code, stdout, stderr)
	}
	var cj golden.CompareJSON
	if err := records.ReadJSON(filepath.Join(cmpDir, "compare.json"), &cj); err != nil {
		t.Fatal(err)
	}
	if len(cj.Cells) != 4 || cj.OnlyA != 0 || cj.OnlyB != 0 || cj.Discordant != 0 {
		t.Errorf("compare.json: %d cells, only_a %d, only_b %d, %d discordant", len(cj.Cells), cj.OnlyA, cj.OnlyB, cj.Discordant)
	}
	for _, c := range cj.Cells {
		if c.B != 0 || c.C != 0 || c.AccA != c.AccB || c.Verdict != "none" || c.P != 1 {
			t.Errorf("compare.json cell %+v", c)
		}
	}

	goldenFile := filepath.Join(root, "golden.json")
	if code, _, stderr := cliRun(t, "check", "bless", "--run", ref, "--out", goldenFile, "--model", "replay", "--dataset", "synth"); code != 0 {
		t.Fatal(stderr)
	}
	if code, stdout, stderr := cliRun(t, "check", "--run", merged, "--golden", goldenFile); code != 0 {
		t.Errorf("check on the merged run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if code, _, stderr := cliRun(t, "check", "--run", dirs[0], "--golden", goldenFile); !strings.Contains(stderr, "is shard 0/4") || code == 0 {
		t.Errorf("check on one shard: exit %d, %q", code, stderr)
	}
}

// TestEvalShardMergeONNX: the tiny ONNX fixture evaluated in 4 shards (one
// SIGKILLed mid-run and resumed with another batch size) merges into the
// unsharded run's record: the same generated ids, texts and summary.
func TestEvalShardMergeONNX(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the medbench binary")
	}
	model := tinyFixture(t)
	lib, err := ortlib.Find("")
	if err != nil {
		t.Skip(err)
	}
	bin := buildMedbench(t)
	const total, n = 40, 4
	data := evalSynth(t, total)
	args := func(out string, extra ...string) []string {
		return append([]string{"eval", "--data", data, "--model", model, "--ort-lib", lib, "--prompt", "complex",
			"--max-new-tokens", "8", "--threads", "1", "--out", out}, extra...)
	}
	root := t.TempDir()
	ref := filepath.Join(root, "ref")
	if code, _, stderr := cliRun(t, args(ref, "--batch", "3")...); code != 0 {
		t.Fatal(stderr)
	}
	killed := largestShard(total, n)
	var dirs []string
	for i := range n {
		dir := filepath.Join(root, fmt.Sprintf("shard-%d", i))
		dirs = append(dirs, dir)
		shard := fmt.Sprintf("%d/%d", i, n)
		if i != killed {
			if code, _, stderr := cliRun(t, args(dir, "--shard", shard, "--batch", "2")...); code != 0 {
				t.Fatal(stderr)
			}
			continue
		}
		keys := len(shardKeys([]string{"complex"}, total, i, n))
		got := killMidRun(t, bin, args(dir, "--shard", shard, "--batch", "1"), filepath.Join(dir, records.SamplesFile), 1)
		if got >= keys {
			t.Fatalf("shard %d finished (%d of %d samples) before the kill", i, got, keys)
		}
		t.Logf("shard %d killed after %d of %d samples", i, got, keys)
		if code, _, stderr := cliRun(t, args(dir, "--shard", shard, "--batch", "3", "--resume")...); code != 0 {
			t.Fatalf("resume: %s", stderr)
		}
	}
	merged := filepath.Join(root, "merged")
	if code, _, stderr := cliRun(t, append([]string{"merge", "--out", merged}, dirs...)...); code != 0 {
		t.Fatal(stderr)
	}
	sameRecord(t, merged, ref)
	run, err := records.ReadRun(merged)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range run.Samples {
		if len(s.TokenIDs) == 0 || s.Error != "" {
			t.Errorf("%s: %d token ids, error %q", s.Key(), len(s.TokenIDs), s.Error)
		}
	}
}
