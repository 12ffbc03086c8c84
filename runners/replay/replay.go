// Package replay is a runners.Runner that returns recorded outputs instead of
// running a model, so that existing results (the seed's per-modality output
// JSON, or a medbench samples.jsonl) can be re-scored, checked and compared.
//
// Sources. Each path given to New is one of:
//
//   - a medbench samples.jsonl (any file whose content is JSON lines of
//     records.Sample; a torn last line is ignored): outputs are looked up by
//     prompt name and sample id, exactly as recorded;
//   - a seed-format output file ({"accuracy": ..., "results": [...]}), as
//     written by MedVLM-R1's test_qwen2vl_med.py or by medbench. It has no
//     prompt name of its own: prefix the path with "PROMPT=" (for example
//     complex=Ours_MRI1600_OOD_MRI300.json) to bind it to one prompt; an
//     unlabelled file serves every prompt.
//
// Matching seed-format results to dataset samples (Bind). A result is matched
// to the dataset sample whose full record (all eight fields of the seed's
// question object) is equal to the result's "question". When no result of a
// file matches any record (for example a dataset whose text was edited) and
// the file has exactly as many results as there are bound samples, results
// are paired with samples by order instead (the seed writes results in
// dataset order, one file per modality, so this holds for a one-modality
// evaluation with the seed's selection). Otherwise the file is an error.
// Results that match no requested sample are ignored (a --limit run).
//
// A sample without a recorded output is a per-sample error (Result.Err), not
// a failure of the run.
package replay

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
	"sort"
	"strings"
	"time"

	"github.com/medbench/medbench/datasets"
	"github.com/medbench/medbench/records"
	"github.com/medbench/medbench/runners"

	"github.com/medbench/medbench/internal/utf8bom"
)

// Runner replays recorded outputs. It is safe for concurrent Generate calls
// once bound.
type Runner struct {
	files  []source
	delay  time.Duration
	byKey  map[string]entry // "prompt/id" from samples.jsonl files
	seeded map[seedKey]entry
	bound  bool
}

type source struct {
	path   string
	label  string // prompt for seed-format files, "" = any
	sha256 string
	seed   *records.SeedOutput // nil for samples.jsonl
}

type seedKey struct{ prompt, id string }

type entry struct {
	text        string
	tokenIDs    []int
	promptToks  int
	complToks   int
	latency     time.Duration
	err         string
	file        string
	ambiguousTo string // another file holding the same sample
}

// New reads the given output files (see the package documentation for the
// formats and the PROMPT=FILE form).
func New(paths []string) (*Runner, error) {
	if len(paths) == 0 {
		return nil, errors.New("replay: no output files (--outputs FILE[,FILE])")
	}
	r := &Runner{byKey: map[string]entry{}, seeded: map[seedKey]entry{}}
	for _, spec := range paths {
		path, label := splitSpec(spec)
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("replay: %w", err)
		}
		sum := sha256.Sum256(b)
		b = utf8bom.Trim(b)
		src := source{path: path, label: label, sha256: hex.EncodeToString(sum[:])}
		if isSeedFormat(b) {
			so, err := records.ParseSeedOutput(path, b)
			if err != nil {
				return nil, fmt.Errorf("replay: %w", err)
			}
			src.seed = so
		} else {
			if label != "" {
				return nil, fmt.Errorf("replay: %s: a PROMPT= label applies to seed-format files only; samples.jsonl records its prompts", path)
			}
			samples, err := parseSamples(path, b)
			if err != nil {
				return nil, err
			}
			for _, s := range samples {
				k := s.Key()
				if prev, ok := r.byKey[k]; ok {
					return nil, fmt.Errorf("replay: sample %s is recorded twice (%s and %s)", k, prev.file, path)
				}
				r.byKey[k] = entry{text: s.Output, tokenIDs: s.TokenIDs, promptToks: s.PromptTokens, complToks: s.CompletionTokens,
					latency: time.Duration(s.LatencyMS * float64(time.Millisecond)), err: s.Error, file: path}
			}
		}
		r.files = append(r.files, src)
	}
	return r, nil
}

// splitSpec separates an optional "PROMPT=" label from a path. A spec that
// names an existing file is always a plain path.
func splitSpec(spec string) (path, label string) {
	if _, err := os.Stat(spec); err == nil {
		return spec, ""
	}
	if l, p, ok := strings.Cut(spec, "="); ok && l != "" && !strings.ContainsAny(l, "/\\") {
		return p, l
	}
	return spec, ""
}

// isSeedFormat reports whether b is one JSON object with a "results" key.
func isSeedFormat(b []byte) bool {
	var probe map[string]json.RawMessage
	if json.Unmarshal(b, &probe) != nil {
		return false
	}
	_, ok := probe["results"]
	return ok
}

// parseSamples parses samples.jsonl content; a torn last line is ignored and
// a key recorded twice is an error naming it and both lines.
func parseSamples(path string, b []byte) ([]records.ScoredSample, error) {
	var out []records.ScoredSample
	seen := map[string]int{}
	lines := bytes.Split(b, []byte("\n"))
	for i, ln := range lines {
		ln = bytes.TrimSpace(ln)
		if len(ln) == 0 {
			continue
		}
		var s records.ScoredSample
		if err := json.Unmarshal(ln, &s); err != nil {
			if i == len(lines)-1 {
				break // torn tail of an interrupted run
			}
			return nil, fmt.Errorf("replay: %s line %d: neither a seed-format output file nor samples.jsonl: %w", path, i+1, err)
		}
		if s.ID == "" || s.Prompt == "" {
			return nil, fmt.Errorf("replay: %s line %d: sample without id or prompt", path, i+1)
		}
		if prev, dup := seen[s.Key()]; dup {
			return nil, fmt.Errorf("replay: %w", records.DuplicateError(path, s.Key(), prev, i+1))
		}
		seen[s.Key()] = i + 1
		out = append(out, s)
	}
	return out, nil
}

// recordKey is the canonical form of a record for matching.
func recordKey(r datasets.Record) string {
	b, _ := json.Marshal(r)
	return string(b)
}

// Bind resolves the seed-format files' results against the samples to be
// evaluated (see the package documentation). It must be called before
// Generate when any seed-format file was given; evaluate.Run calls it.
func (r *Runner) Bind(samples []datasets.Item) error {
	r.seeded = map[seedKey]entry{}
	idsByRecord := map[string][]string{}
	for _, s := range samples {
		k := recordKey(s.Record)
		idsByRecord[k] = append(idsByRecord[k], s.ID())
	}
	for _, src := range r.files {
		if src.seed == nil {
			continue
		}
		assigned := map[string]int{} // sample id -> result index
		for i, res := range src.seed.Results {
			var rec datasets.Record
			if err := json.Unmarshal(res.Question, &rec); err != nil {
				return fmt.Errorf("replay: %s: results[%d]: question: %w", src.path, i, err)
			}
			ids := idsByRecord[recordKey(rec)]
			for _, id := range ids {
				if _, taken := assigned[id]; !taken {
					assigned[id] = i
					break
				}
			}
		}
		if len(assigned) == 0 && len(src.seed.Results) > 0 {
			if len(src.seed.Results) != len(samples) {
				return fmt.Errorf("replay: %s: no result's question matches a dataset record, and its %d results cannot be paired by order with the %d samples evaluated",
					src.path, len(src.seed.Results), len(samples))
			}
			for i, s := range samples {
				assigned[s.ID()] = i
			}
		}
		ids := make([]string, 0, len(assigned))
		for id := range assigned {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			res := src.seed.Results[assigned[id]]
			k := seedKey{src.label, id}
			e := entry{text: res.ModelOutput, file: src.path}
			if prev, ok := r.seeded[k]; ok {
				e.ambiguousTo = prev.file
			}
			r.seeded[k] = e
		}
	}
	r.bound = true
	return nil
}

// SetDelay makes Generate wait d per request before answering (honouring
// cancellation): a stand-in for model latency in interruption tests.
func (r *Runner) SetDelay(d time.Duration) { r.delay = d }

func (r *Runner) lookup(req runners.Request) (entry, error) {
	if e, ok := r.byKey[req.Prompt+"/"+req.ID]; ok {
		return e, nil
	}
	for _, label := range []string{req.Prompt, ""} {
		if e, ok := r.seeded[seedKey{label, req.ID}]; ok {
			if e.ambiguousTo != "" {
				return e, fmt.Errorf("replay: sample %s (prompt %s) has outputs in both %s and %s; label the files PROMPT=FILE", req.ID, req.Prompt, e.ambiguousTo, e.file)
			}
			return e, nil
		}
	}
	if !r.bound && r.hasSeedFiles() {
		return entry{}, fmt.Errorf("replay: seed-format outputs are not bound to the dataset (Bind not called)")
	}
	return entry{}, fmt.Errorf("replay: no recorded output for sample %s under prompt %s in %s", req.ID, req.Prompt, r.fileList())
}

func (r *Runner) hasSeedFiles() bool {
	for _, f := range r.files {
		if f.seed != nil {
			return true
		}
	}
	return false
}

func (r *Runner) fileList() string {
	names := make([]string, len(r.files))
	for i, f := range r.files {
		names[i] = f.path
	}
	return strings.Join(names, ", ")
}

// Generate returns the recorded output of each request. A missing or
// ambiguous output, or a sample recorded as failed, is a per-sample error.
// Latency is the recorded latency (samples.jsonl) or zero (seed files);
// FinishReason is "replay".
func (r *Runner) Generate(ctx context.Context, reqs []runners.Request) ([]runners.Result, error) {
	out := make([]runners.Result, len(reqs))
	for i, req := range reqs {
		if r.delay > 0 {
			t := time.NewTimer(r.delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			case <-t.C:
			}
		} else if err := ctx.Err(); err != nil {
			return nil, err
		}
		res := runners.Result{ID: req.ID, FinishReason: "replay"}
		e, err := r.lookup(req)
		switch {
		case err != nil:
			res.Err, res.FinishReason = err, "error"
		case e.err != "":
			res.Err, res.FinishReason = fmt.Errorf("replay: recorded failure in %s: %s", e.file, e.err), "error"
		default:
			res.Text = e.text
			res.TokenIDs = e.tokenIDs
			res.PromptTokens = e.promptToks
			res.CompletionTokens = e.complToks
			res.Latency = e.latency
		}
		out[i] = res
	}
	return out, nil
}

// Info names the runner and the sha256 of each output file.
func (r *Runner) Info() runners.Info {
	files := map[string]string{}
	for _, f := range r.files {
		name := filepath.Base(f.path)
		if f.label != "" {
			name = f.label + "=" + name
		}
		files[name] = f.sha256
	}
	return runners.Info{Name: "replay", Runtime: "none", Files: files}
}

// Close releases nothing; it exists to satisfy runners.Runner.
func (r *Runner) Close() error { return nil }
