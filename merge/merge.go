// Package merge joins the run records of a sharded evaluation (eval
// --shard I/N, one run directory per shard) into one run record equal to
// the record an unsharded run writes: the same samples.jsonl order, the
// same summary.json, the same seed-format files.
package merge

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/medbench/medbench/evaluate"
	"github.com/medbench/medbench/internal/filehash"
	"github.com/medbench/medbench/records"
)

// Options configure Runs.
type Options struct {
	// AllowPartial writes a record marked partial (summary.json "partial",
	// the manifest's merge section listing the missing keys) instead of
	// failing when samples or shards are missing.
	AllowPartial bool
	// Command is recorded as the merged manifest's command line.
	Command []string
}

// MissingError lists the sample keys (prompt/id) that no shard run holds,
// and the shard indices without a run.
type MissingError struct {
	Keys   []string
	Shards []int
}

func (e *MissingError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "merge: %d samples missing", len(e.Keys))
	if len(e.Shards) > 0 {
		s := make([]string, len(e.Shards))
		for i, x := range e.Shards {
			s[i] = strconv.Itoa(x)
		}
		fmt.Fprintf(&b, " (no run for shard %s)", strings.Join(s, ", "))
	}
	fmt.Fprintf(&b, ": %s; finish the shard runs that lack them (eval ... --shard I/N --resume) or pass --allow-partial", strings.Join(e.Keys, ", "))
	return b.String()
}

// Result is what Runs wrote.
type Result struct {
	Manifest records.Manifest
	Summary  records.Summary
	// Missing lists the sample keys absent from every shard (only with
	// AllowPartial; otherwise Runs fails with a *MissingError).
	Missing []string
}

// maxSelection bounds the selection a manifest may claim, so that a corrupt
// manifest cannot make the merge allocate without limit.
const maxSelection = 1 << 24

type shardRun struct {
	run      *records.Run
	manifest string // sha256 of manifest.json
	samples  string // sha256 of samples.jsonl
	seed     bool   // has seed-format files
}

// Runs merges the shard runs in dirs into a new run record in out. The
// shard manifests must agree on every result-affecting field (the list
// eval --resume checks, records.Compatible), on the shard count and on the
// selection, and carry each shard index at most once; a sample must belong
// to the shard that recorded it (evaluate.ShardOf) and appear only once. Missing samples
// are an error listing every key (*MissingError) unless opts.AllowPartial.
// The samples are written in an unsharded run's order (prompts in manifest
// order, each over the selection in order), so samples.jsonl, summary.json
// and the seed-format files (written when a shard run has them) equal an
// unsharded run's apart from timing fields.
func Runs(ctx context.Context, dirs []string, out string, opts Options) (*Result, error) {
	if len(dirs) == 0 {
		return nil, errors.New("merge: no shard runs given")
	}
	runs := make([]shardRun, 0, len(dirs))
	for _, dir := range dirs {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("merge: %w", err)
		}
		r, err := readShard(dir)
		if err != nil {
			return nil, err
		}
		runs = append(runs, r)
	}
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].run.Manifest.Shard.Index < runs[j].run.Manifest.Shard.Index })
	ref := runs[0].run
	rs := ref.Manifest.Shard
	byIndex := map[int]string{}
	for _, r := range runs {
		m := r.run.Manifest
		if err := records.Compatible(ref.Manifest, m); err != nil {
			return nil, fmt.Errorf("merge: %s and %s are not shards of one evaluation: %w", ref.Dir, r.run.Dir, err)
		}
		s := m.Shard
		if s.Count != rs.Count || s.Total != rs.Total || s.Selection != rs.Selection {
			return nil, fmt.Errorf("merge: %s (shard %d/%d of %d samples) and %s (shard %d/%d of %d samples) do not split the same selection the same way",
				ref.Dir, rs.Index, rs.Count, rs.Total, r.run.Dir, s.Index, s.Count, s.Total)
		}
		if other, dup := byIndex[s.Index]; dup {
			return nil, fmt.Errorf("merge: shard %d/%d given twice: %s and %s", s.Index, s.Count, other, r.run.Dir)
		}
		byIndex[s.Index] = r.run.Dir
	}
	if rs.Total < 0 || rs.Total > maxSelection {
		return nil, fmt.Errorf("merge: %s: shard total %d is not a plausible selection size (at most %d)", filepath.Join(ref.Dir, records.ManifestFile), rs.Total, maxSelection)
	}
	if rs.Total != ref.Manifest.Dataset.N {
		return nil, fmt.Errorf("merge: %s: shard total %d differs from dataset.n %d", filepath.Join(ref.Dir, records.ManifestFile), rs.Total, ref.Manifest.Dataset.N)
	}
	selection, err := records.DecodeIndices(rs.Selection, rs.Total)
	if err != nil {
		return nil, fmt.Errorf("merge: %s: shard.selection: %w", filepath.Join(ref.Dir, records.ManifestFile), err)
	}
	if len(selection) != rs.Total {
		return nil, fmt.Errorf("merge: %s: shard.selection lists %d samples, total says %d", filepath.Join(ref.Dir, records.ManifestFile), len(selection), rs.Total)
	}
	inSelection := map[string]bool{}
	for _, x := range selection {
		id := strconv.Itoa(x) // a dataset sample's id is its index (datasets.Sample.ID)
		if inSelection[id] {
			return nil, fmt.Errorf("merge: %s: shard.selection lists sample %s twice", filepath.Join(ref.Dir, records.ManifestFile), id)
		}
		inSelection[id] = true
	}
	prompts := map[string]bool{}
	for _, p := range ref.Manifest.Prompts {
		prompts[p.Name] = true
	}

	// Every sample in the shard that should hold it, once.
	byKey := map[string]records.ScoredSample{}
	where := map[string]string{}
	var overlaps []string
	for _, r := range runs {
		idx := r.run.Manifest.Shard.Index
		path := filepath.Join(r.run.Dir, records.SamplesFile)
		for line, s := range r.run.Samples {
			k := s.Key()
			if !prompts[s.Prompt] || !inSelection[s.ID] {
				return nil, fmt.Errorf("merge: %s sample %d (%s): not in the evaluation (prompt or id outside the manifest's prompts and selection)", path, line+1, k)
			}
			if want := evaluate.ShardOf(s.ID, rs.Count); want != idx {
				return nil, fmt.Errorf("merge: %s sample %d (%s): belongs to shard %d/%d, recorded in shard %d", path, line+1, k, want, rs.Count, idx)
			}
			if prev, dup := where[k]; dup {
				overlaps = append(overlaps, fmt.Sprintf("%s (%s and %s)", k, prev, r.run.Dir))
				continue
			}
			where[k] = r.run.Dir
			byKey[k] = s
		}
	}
	if len(overlaps) > 0 {
		return nil, fmt.Errorf("merge: %d samples recorded more than once: %s", len(overlaps), strings.Join(overlaps, ", "))
	}

	all := make([]records.ScoredSample, 0, len(byKey))
	var missing []string
	for _, p := range ref.Manifest.Prompts {
		for _, x := range selection {
			k := p.Name + "/" + strconv.Itoa(x)
			if s, ok := byKey[k]; ok {
				all = append(all, s)
			} else {
				missing = append(missing, k)
			}
		}
	}
	var absent []int
	for i := range rs.Count {
		if _, ok := byIndex[i]; !ok {
			absent = append(absent, i)
		}
	}
	if (len(missing) > 0 || len(absent) > 0) && !opts.AllowPartial {
		return nil, &MissingError{Keys: missing, Shards: absent}
	}

	m := ref.Manifest
	m.Shard = nil
	m.Resumed = nil
	m.Finished = time.Time{} // set by the writer's Finish
	m.Command = opts.Command
	m.Merge = &records.Merge{Count: rs.Count, Partial: len(missing) > 0 || len(absent) > 0, Missing: missing}
	seedFiles := false
	for _, r := range runs {
		rm := r.run.Manifest
		if rm.Started.Before(m.Started) {
			m.Started = rm.Started
		}
		m.Merge.Runs = append(m.Merge.Runs, records.MergedRun{
			Dir: r.run.Dir, Index: rm.Shard.Index, Samples: len(r.run.Samples), Finished: r.run.Summary != nil,
			Host: rm.Host.Hostname, Started: rm.Started, ManifestSHA256: r.manifest, SamplesSHA256: r.samples,
		})
		seedFiles = seedFiles || r.seed
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	w, err := records.OpenWriter(out, m, false)
	if err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	defer w.Close()
	if err := w.Append(all); err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	sum := evaluate.Summarize(all)
	sum.Partial = m.Merge.Partial
	if err := w.Finish(sum, evaluate.RecordedSeedFormats(m.Prompts, seedFiles)); err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	return &Result{Manifest: w.Manifest(), Summary: sum, Missing: missing}, nil
}

// readShard reads one shard run and hashes its manifest and samples files.
func readShard(dir string) (shardRun, error) {
	r, err := records.ReadRun(dir)
	if err != nil {
		return shardRun{}, fmt.Errorf("merge: %w", err)
	}
	if r.Manifest.Shard == nil {
		return shardRun{}, fmt.Errorf("merge: %s: not a shard run (its manifest has no shard; run eval with --shard I/N)", filepath.Join(dir, records.ManifestFile))
	}
	out := shardRun{run: r}
	if out.manifest, err = fileSHA256(filepath.Join(dir, records.ManifestFile)); err != nil {
		return shardRun{}, err
	}
	if out.samples, err = fileSHA256(filepath.Join(dir, records.SamplesFile)); err != nil {
		return shardRun{}, err
	}
	seeds, err := filepath.Glob(filepath.Join(dir, "seed_*.json"))
	if err != nil {
		return shardRun{}, fmt.Errorf("merge: %s: %w", dir, err)
	}
	out.seed = len(seeds) > 0
	return out, nil
}

func fileSHA256(path string) (string, error) {
	sum, err := filehash.SHA256(path)
	if err != nil {
		return "", fmt.Errorf("merge: %w", err)
	}
	return sum, nil
}
