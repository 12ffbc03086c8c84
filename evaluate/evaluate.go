// Package evaluate runs the evaluation loop: dataset samples × prompts are
// sent to a runner in batches, each output is scored under every extraction
// policy, and the run record (records.Writer) is appended batch by batch, so
// that an interrupted run can be resumed without redoing or losing a sample.
package evaluate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/medbench/medbench/datasets"
	"github.com/medbench/medbench/metrics"
	"github.com/medbench/medbench/records"
	"github.com/medbench/medbench/runners"
	"github.com/medbench/medbench/sampler"
)

// Config configures Run.
type Config struct {
	// Samples are the dataset samples to evaluate (already selected).
	Samples []datasets.Item
	// Prompts are evaluated one after another, each over all samples.
	Prompts []datasets.Template
	Runner  runners.Runner
	// Batch is the number of requests per Runner.Generate call (>= 1).
	Batch int
	// OutDir receives the run record.
	OutDir string
	// Resume continues an interrupted run in OutDir.
	Resume bool
	// Manifest describes the run; Run fills Prompts, Policies and Dataset.N
	// when they are empty. Manifest.Seed seeds every sample (sampler.SeedFor, RequestSeed).
	Manifest records.Manifest
	// Policies are the extraction policies (default: metrics.DefaultPolicies()).
	Policies []metrics.Policy
	// Progress receives a progress bar when it is a terminal, plain log
	// lines otherwise; nil for silence.
	Progress io.Writer
	// SeedFiles also writes the seed-format file of every modality × prompt.
	SeedFiles bool
	// Invalid maps a record index to its answer-key problems
	// (datasets.InvalidByIndex) for a run told to score invalid items:
	// their samples record the problems and the summary counts them as
	// invalid_items. The caller refuses such items otherwise.
	Invalid map[int]string
	// Shard, when Count > 0, evaluates only the samples of shard Index of
	// Count (see ShardOf) and records the shard in the manifest; the
	// manifest's dataset size stays that of the whole selection.
	Shard Shard
	// Stop, when closed, ends the run after the batch in flight: the batch
	// is generated (ctx still live), written, and Run returns ErrStopped
	// (a graceful Ctrl-C; cancelling ctx is the abort).
	Stop <-chan struct{}
}

// ErrStopped is returned by Run when Config.Stop was closed before the run
// finished: every sample generated so far is in the record, which
// --resume continues.
var ErrStopped = errors.New("evaluate: stopped")

// Binder is implemented by runners that need the dataset before generating
// (the replay runner matches recorded outputs to records). Run calls Bind
// with Config.Samples before the first batch.
type Binder interface {
	Bind(samples []datasets.Item) error
}

// PromptInfos lists templates for a manifest.
func PromptInfos(ts []datasets.Template) []records.PromptInfo {
	out := make([]records.PromptInfo, len(ts))
	for i, t := range ts {
		out[i] = records.PromptInfo{Name: t.Name, Text: t.Text}
	}
	return out
}

type job struct {
	sample datasets.Item
	prompt datasets.Template
}

func (j job) key() string { return j.prompt.Name + "/" + j.sample.ID() }

// Run evaluates cfg.Samples × cfg.Prompts and writes the run record. Samples
// already in OutDir's samples.jsonl are skipped when resuming. A runner error
// (as opposed to a per-sample Result.Err, which is recorded and counted)
// stops the run, leaving it resumable. When ctx is cancelled, the batch in
// flight is written if the runner returned it, and Run returns ctx.Err().
// The summary covers every sample of the run, resumed ones included.
func Run(ctx context.Context, cfg Config) (*records.Summary, error) {
	if cfg.Runner == nil {
		return nil, errors.New("evaluate: no runner")
	}
	if cfg.Batch < 1 {
		return nil, fmt.Errorf("evaluate: batch size %d: want at least 1", cfg.Batch)
	}
	if len(cfg.Prompts) == 0 {
		return nil, errors.New("evaluate: no prompts")
	}
	if len(cfg.Samples) == 0 {
		return nil, errors.New("evaluate: no samples")
	}
	seenPrompt := map[string]bool{}
	for _, p := range cfg.Prompts {
		if p.Name == "" || seenPrompt[p.Name] {
			return nil, fmt.Errorf("evaluate: prompt names must be unique and non-empty (%q)", p.Name)
		}
		seenPrompt[p.Name] = true
	}
	seenID := map[string]bool{}
	for _, s := range cfg.Samples {
		if seenID[s.ID()] {
			return nil, fmt.Errorf("evaluate: sample id %s appears twice in the selection", s.ID())
		}
		seenID[s.ID()] = true
	}
	if len(cfg.Policies) == 0 {
		cfg.Policies = metrics.DefaultPolicies().List()
	}
	m := cfg.Manifest
	if len(m.Prompts) == 0 {
		m.Prompts = PromptInfos(cfg.Prompts)
	}
	if len(m.Policies) == 0 {
		m.Policies = metrics.PolicyIDs(cfg.Policies)
	}
	if m.Dataset.N == 0 {
		m.Dataset.N = len(cfg.Samples)
	}
	// The images digest covers the whole selection (before any shard
	// filter), so that every shard of one evaluation records the same one.
	hashes, digest := ImageHashes(cfg.Samples)
	if m.Dataset.ImagesSHA256 == "" {
		m.Dataset.ImagesSHA256 = digest
	}
	if cfg.Shard.Count > 0 {
		var err error
		if cfg.Samples, m.Shard, err = cfg.Shard.apply(cfg.Samples); err != nil {
			return nil, err
		}
	}
	if cfg.Resume {
		if err := records.SameShard(cfg.OutDir, m.Shard); err != nil {
			return nil, err
		}
		if err := checkRecordedImages(cfg.OutDir, hashes); err != nil {
			return nil, err
		}
	}
	if b, ok := cfg.Runner.(Binder); ok {
		if err := b.Bind(cfg.Samples); err != nil {
			return nil, fmt.Errorf("evaluate: %w", err)
		}
	}
	w, err := records.OpenWriter(cfg.OutDir, m, cfg.Resume)
	if err != nil {
		return nil, err
	}
	defer w.Close()

	var todo []job
	for _, p := range cfg.Prompts {
		for _, s := range cfg.Samples {
			j := job{sample: s, prompt: p}
			if !w.Done(j.key()) {
				todo = append(todo, j)
			}
		}
	}
	total := len(cfg.Samples) * len(cfg.Prompts)
	prog := newProgress(cfg.Progress, total, total-len(todo))
	defer prog.stop()

	for start := 0; start < len(todo); start += cfg.Batch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		select {
		case <-cfg.Stop: // nil channel: never
			return nil, ErrStopped
		default:
		}
		batch := todo[start:min(start+cfg.Batch, len(todo))]
		samples, err := runBatch(ctx, cfg, m.Seed, batch, hashes)
		if len(samples) > 0 {
			if werr := w.Append(samples); werr != nil {
				return nil, werr
			}
			toks := 0
			for _, s := range samples {
				toks += s.CompletionTokens
			}
			prog.add(len(samples), toks)
		}
		if err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	sum := Summarize(w.Samples())
	if err := w.Finish(sum, seedFormats(cfg.Prompts, cfg.SeedFiles)); err != nil {
		return nil, err
	}
	prog.done()
	return &sum, nil
}

// Summarize is a run's summary.json over all its samples: the cells of
// metrics.Summarize, the sample and error counts, and the creation time.
func Summarize(all []records.ScoredSample) records.Summary {
	sum := records.Summary{SchemaVersion: records.SchemaVersion, Cells: metrics.Summarize(all), Samples: len(all), Created: time.Now().UTC()}
	invalid := map[string]bool{}
	for _, s := range all {
		if s.Error != "" {
			sum.Errors++
		}
		if s.Invalid != "" {
			invalid[s.ID] = true
		}
	}
	sum.InvalidItems = len(invalid)
	return sum
}

// runBatch generates and scores one batch. On a runner error it returns the
// error with no samples (ctx errors included), unless the runner returned
// results alongside a cancellation, which are then scored and returned.
func runBatch(ctx context.Context, cfg Config, runSeed uint64, batch []job, hashes map[string][]string) ([]records.ScoredSample, error) {
	reqs := make([]runners.Request, len(batch))
	for i, j := range batch {
		reqs[i] = request(j, runSeed)
	}
	results, err := cfg.Runner.Generate(ctx, reqs)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("evaluate: runner %s: %w", cfg.Runner.Info().Name, err)
	}
	if len(results) != len(reqs) {
		return nil, fmt.Errorf("evaluate: runner %s returned %d results for %d requests", cfg.Runner.Info().Name, len(results), len(reqs))
	}
	out := make([]records.ScoredSample, len(batch))
	for i, j := range batch {
		if id := results[i].ID; id != "" && id != reqs[i].ID {
			return nil, fmt.Errorf("evaluate: runner %s returned result %d for sample %s, requested %s", cfg.Runner.Info().Name, i, id, reqs[i].ID)
		}
		out[i] = score(j, reqs[i], results[i], cfg.Policies)
		out[i].ImageSHA256 = hashes[j.sample.ID()]
		out[i].Invalid = cfg.Invalid[j.sample.Index]
	}
	return out, ctx.Err()
}

func request(j job, runSeed uint64) runners.Request {
	return j.sample.Request(j.prompt, j.sample.ID(), sampler.SeedFor(runSeed, j.key(), sampler.RequestSeed))
}

func score(j job, req runners.Request, res runners.Result, policies []metrics.Policy) records.ScoredSample {
	s := j.sample
	rec := s.Record
	out := records.ScoredSample{
		ID:               s.ID(),
		Index:            s.Index,
		Modality:         s.Modality,
		Prompt:           j.prompt.Name,
		Solution:         rec.Solution,
		Question:         rec.Question,
		Options:          rec.Options,
		Output:           res.Text,
		TokenIDs:         res.TokenIDs,
		PromptTokens:     res.PromptTokens,
		CompletionTokens: res.CompletionTokens,
		LatencyMS:        float64(res.Latency) / float64(time.Millisecond),
		FinishReason:     res.FinishReason,
		Warnings:         res.Warnings,
		Seed:             req.Seed,
		Record:           recordJSON(rec),
	}
	if len(rec.Image) > 0 {
		out.Image = rec.Image[0]
	}
	if res.Err != nil {
		out.Error = res.Err.Error()
		out.Transient = errors.Is(res.Err, runners.ErrTransient)
		if out.FinishReason == "" {
			out.FinishReason = "error"
		}
	}
	metrics.Score(&out, j.prompt.Format, policies)
	return out
}

// recordJSON is the record in the seed's field order, compact, with <, >
// and & unescaped (as Python's json writes them).
func recordJSON(r datasets.Record) json.RawMessage {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil
	}
	return json.RawMessage(bytes.TrimSpace(buf.Bytes()))
}

// ImageHashes returns the sha256 of each sample's images by sample id (""
// for an image that cannot be read: the runner records that failure) and a
// digest of them all in sample order, which the manifest records so that
// resume compares the images by content, whatever the root's spelling.
func ImageHashes(samples []datasets.Item) (map[string][]string, string) {
	out := make(map[string][]string, len(samples))
	all := sha256.New()
	for _, s := range samples {
		n := max(len(s.ImagePaths), len(s.ImageBytes))
		hs := make([]string, n)
		for i := range hs {
			var b []byte
			if i < len(s.ImageBytes) && s.ImageBytes[i] != nil {
				b = s.ImageBytes[i]
			} else if i < len(s.ImagePaths) {
				var err error
				if b, err = os.ReadFile(s.ImagePaths[i]); err != nil {
					continue
				}
			}
			h := sha256.Sum256(b)
			hs[i] = hex.EncodeToString(h[:])
		}
		out[s.ID()] = hs
		fmt.Fprintf(all, "%s\t%s\n", s.ID(), strings.Join(hs, ","))
	}
	return out, hex.EncodeToString(all.Sum(nil))
}

// checkRecordedImages refuses to resume a run whose recorded samples were
// made from images that have since changed, naming the sample, the image
// and both hashes.
func checkRecordedImages(dir string, hashes map[string][]string) error {
	p := filepath.Join(dir, records.SamplesFile)
	if _, err := os.Stat(p); err != nil {
		return nil // nothing recorded yet
	}
	recorded, _, err := records.ReadSamples(p)
	if err != nil {
		return err
	}
	for _, s := range recorded {
		now, ok := hashes[s.ID]
		if !ok || s.ImageSHA256 == nil {
			continue // not selected now (the manifest check names that), or recorded before hashes were
		}
		for i := range max(len(now), len(s.ImageSHA256)) {
			var a, b string
			if i < len(s.ImageSHA256) {
				a = s.ImageSHA256[i]
			}
			if i < len(now) {
				b = now[i]
			}
			if a != b {
				return fmt.Errorf("evaluate: cannot resume %s: the image of sample %s (%s) changed since it was recorded: sha256 recorded %q, now %q; restore it or start a fresh run", dir, s.Key(), s.Image, a, b)
			}
		}
	}
	return nil
}
