package evaluate

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/medbench/medbench/records"
)

func TestParseShard(t *testing.T) {
	for spec, want := range map[string]Shard{"0/4": {0, 4}, "3/4": {3, 4}, " 0/1 ": {0, 1}, "12/100": {12, 100}} {
		got, err := ParseShard(spec)
		if err != nil || got != want {
			t.Errorf("ParseShard(%q) = %v, %v; want %v", spec, got, err, want)
		}
		if err == nil && got.String() != strings.TrimSpace(spec) {
			t.Errorf("String() = %q, want %q", got.String(), strings.TrimSpace(spec))
		}
	}
	for _, spec := range []string{"", "4", "4/4", "-1/4", "1/0", "a/4", "1/b", "1/2/3"} {
		if _, err := ParseShard(spec); err == nil {
			t.Errorf("ParseShard(%q): no error", spec)
		}
	}
}

// TestShardOfPartition: every id lands in exactly one shard in range, the
// assignment depends on the id only (not the order ids come in), and the
// shards of 1000 ids are balanced within a few standard deviations.
func TestShardOfPartition(t *testing.T) {
	const n, ids = 4, 1000
	count := make([]int, n)
	first := map[string]int{}
	for i := range ids {
		id := strconv.Itoa(i)
		s := ShardOf(id, n)
		if s < 0 || s >= n {
			t.Fatalf("ShardOf(%s, %d) = %d", id, n, s)
		}
		first[id] = s
		count[s]++
	}
	// sd of a shard's size: sqrt(1000·¼·¾) ≈ 13.7; allow 4 sd.
	for i, c := range count {
		if c < 250-55 || c > 250+55 {
			t.Errorf("shard %d holds %d of %d ids", i, c, ids)
		}
	}
	order := rand.New(rand.NewPCG(1, 2)).Perm(ids)
	for _, i := range order {
		if id := strconv.Itoa(i); ShardOf(id, n) != first[id] {
			t.Fatalf("ShardOf(%s) changed between calls", id)
		}
	}
	if ShardOf("17", 1) != 0 {
		t.Error("one shard: not 0")
	}
}

// TestShardOfStable pins the partition: shard runs written by one medbench
// version must merge under the next, so ShardOf may never change (docs/
// sharding.md states the formula). These values were computed once with
// the function itself and must not be regenerated.
func TestShardOfStable(t *testing.T) {
	want := []int{2, 3, 2, 1, 3, 3, 0, 3, 2, 3, 2, 3}
	for i, w := range want {
		if got := ShardOf(strconv.Itoa(i), 4); got != w {
			t.Errorf("ShardOf(%q, 4) = %d, was %d", strconv.Itoa(i), got, w)
		}
	}
	if ShardOf("899", 8) != 7 || ShardOf("123", 16) != 1 {
		t.Errorf("ShardOf(899, 8) = %d (was 7), ShardOf(123, 16) = %d (was 1)", ShardOf("899", 8), ShardOf("123", 16))
	}
}

// TestRunShards evaluates 4 shards with different batch sizes: together
// they hold every sample key exactly once, each sample (with all its
// prompts) in the shard ShardOf names, and each manifest records its shard
// and the whole selection. Resuming a shard under another shard spec fails.
func TestRunShards(t *testing.T) {
	samples := testSamples(40)
	const n = 4
	seen := map[string]int{}
	root := t.TempDir()
	for i := range n {
		dir := filepath.Join(root, strconv.Itoa(i))
		cfg := config(t, samples, newFake(samples), dir, i+1)
		cfg.Shard = Shard{Index: i, Count: n}
		if _, err := Run(context.Background(), cfg); err != nil {
			t.Fatal(err)
		}
		run, err := records.ReadRun(dir)
		if err != nil {
			t.Fatal(err)
		}
		sh := run.Manifest.Shard
		if sh == nil || sh.Index != i || sh.Count != n || sh.Total != 40 || run.Manifest.Dataset.N != 40 || sh.Selection != "0-39" {
			t.Fatalf("shard %d manifest: %+v, dataset.n %d", i, sh, run.Manifest.Dataset.N)
		}
		if len(run.Samples) != 2*sh.Samples || run.Summary.Samples != len(run.Samples) {
			t.Errorf("shard %d: %d samples recorded, manifest says %d records × 2 prompts", i, len(run.Samples), sh.Samples)
		}
		for _, s := range run.Samples {
			seen[s.Key()]++
			if ShardOf(s.ID, n) != i {
				t.Errorf("sample %s in shard %d, ShardOf says %d", s.Key(), i, ShardOf(s.ID, n))
			}
		}
	}
	if len(seen) != 80 {
		t.Errorf("%d distinct keys over the shards, want 80", len(seen))
	}
	for k, c := range seen {
		if c != 1 {
			t.Errorf("%s in %d shards", k, c)
		}
	}
	cfg := config(t, samples, newFake(samples), filepath.Join(root, "0"), 1)
	cfg.Shard, cfg.Resume = Shard{Index: 1, Count: n}, true
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "shard differs") {
		t.Errorf("resume under another shard: %v", err)
	}
	cfg.Shard = Shard{Index: 4, Count: n}
	if _, err := Run(context.Background(), cfg); err == nil {
		t.Error("shard 4/4: no error")
	}
}

// TestRunEmptyShard: a shard that no sample hashes to still finishes with
// an empty record, so that a merge sees every index.
func TestRunEmptyShard(t *testing.T) {
	samples := testSamples(2)
	const n = 16
	empty := -1
	used := map[int]bool{ShardOf("0", n): true, ShardOf("1", n): true}
	for i := range n {
		if !used[i] {
			empty = i
			break
		}
	}
	dir := t.TempDir()
	cfg := config(t, samples, newFake(samples), dir, 1)
	cfg.Shard = Shard{Index: empty, Count: n}
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	run, err := records.ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Samples != 0 || len(run.Samples) != 0 || run.Summary == nil || run.Manifest.Shard.Samples != 0 || run.Manifest.Shard.Total != 2 {
		t.Errorf("empty shard: summary %+v, %d samples, manifest shard %+v", sum, len(run.Samples), run.Manifest.Shard)
	}
}
