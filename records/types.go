// Package records reads and writes medbench run records: manifest.json,
// samples.jsonl (append-only, flushed per batch), summary.json, the seed's
// per-modality output files and samples.parquet.
package records

import (
	"encoding/json"
	"time"

	"github.com/medbench/medbench/runners"
)

// File names inside a run directory.
const (
	ManifestFile = "manifest.json"
	SamplesFile  = "samples.jsonl"
	SummaryFile  = "summary.json"
	ParquetFile  = "samples.parquet"
)

// SchemaVersion is written into manifests and summaries.
const SchemaVersion = 1

// ScoredSample is one scored sample: one line of samples.jsonl.
type ScoredSample struct {
	ID       string `json:"id"`
	Index    int    `json:"index"`
	Modality string `json:"modality"`
	Prompt   string `json:"prompt"`
	// Solution is the ground-truth letter.
	Solution string   `json:"solution"`
	Question string   `json:"question"`
	Options  []string `json:"options,omitempty"`
	Image    string   `json:"image,omitempty"`
	// ImageSHA256 is the sha256 of each image as it was read for this
	// sample ("" when it could not be read), so that resume notices a
	// changed image.
	ImageSHA256 []string `json:"image_sha256,omitempty"`
	Output      string   `json:"output"`
	// TokenIDs are the generated ids when a model ran.
	TokenIDs []int `json:"token_ids,omitempty"`
	// Extractions maps policy name ("strict", "lenient") to the extracted letter,
	// nil when nothing could be extracted.
	Extractions map[string]*string `json:"extractions"`
	// Correct maps policy name to correctness.
	Correct          map[string]bool `json:"correct"`
	PromptTokens     int             `json:"prompt_tokens,omitempty"`
	CompletionTokens int             `json:"completion_tokens,omitempty"`
	LatencyMS        float64         `json:"latency_ms"`
	FinishReason     string          `json:"finish_reason,omitempty"`
	// Error is set when the sample failed (it then counts as wrong).
	Error string `json:"error,omitempty"`
	// Invalid lists the answer-key problems of the sample's record (see
	// datasets.CheckRecord) when the run scored invalid items anyway
	// (--invalid-items score); such a sample can never be right.
	Invalid string `json:"invalid,omitempty"`
	// Transient marks a failure of the infrastructure (a server that did
	// not answer after the runner's retries), not of the sample: --resume
	// generates such samples again.
	Transient bool `json:"transient,omitempty"`
	// Warnings are conditions that did not fail the sample but may bear on
	// it (an image above the decompression-bomb pixel limit).
	Warnings []string `json:"warnings,omitempty"`
	// Seed is the sample's own RNG seed (derived from the run seed and Key).
	Seed uint64 `json:"seed,omitempty"`
	// Record is the full source record (the seed's 8-field question object),
	// used for the seed-format output files.
	Record json.RawMessage `json:"record,omitempty"`
}

// Key identifies a sample within a run: one sample id under one prompt.
func (s ScoredSample) Key() string { return s.Prompt + "/" + s.ID }

// Cell is the accuracy of one modality × prompt × policy.
type Cell struct {
	Modality string `json:"modality"`
	Prompt   string `json:"prompt"`
	Policy   string `json:"policy"`
	N        int    `json:"n"`
	Correct  int    `json:"correct"`
	// Accuracy is a fraction in [0,1]; the seed's files use percent.
	Accuracy float64 `json:"accuracy"`
	// WilsonLow/High bound the 95% Wilson score interval.
	WilsonLow  float64 `json:"wilson_low"`
	WilsonHigh float64 `json:"wilson_high"`
	// ParseFailures counts samples whose extraction under this policy was nil.
	ParseFailures    int     `json:"parse_failures"`
	ParseFailureRate float64 `json:"parse_failure_rate"`
	// Errors counts samples that failed to run.
	Errors int `json:"errors"`
}

// Summary is summary.json.
type Summary struct {
	SchemaVersion int    `json:"schema_version"`
	Cells         []Cell `json:"cells"`
	Samples       int    `json:"samples"`
	Errors        int    `json:"errors"`
	// InvalidItems counts the samples whose record has answer-key problems
	// (Sample.Invalid), scored because the run was told to.
	InvalidItems int       `json:"invalid_items"`
	Created      time.Time `json:"created,omitempty"`
	// Partial marks a merged record that lacks samples (merge
	// --allow-partial); the manifest's merge section lists them.
	Partial bool `json:"partial,omitempty"`
}

// Manifest is manifest.json: everything needed to reproduce the run.
type Manifest struct {
	SchemaVersion int       `json:"schema_version"`
	Medbench      string    `json:"medbench_version"`
	GitCommit     string    `json:"git_commit,omitempty"`
	Command       []string  `json:"command,omitempty"`
	Started       time.Time `json:"started"`
	Finished      time.Time `json:"finished,omitempty"`
	// Resumed lists the times the run was resumed with --resume.
	Resumed []time.Time `json:"resumed,omitempty"`
	Host    Host        `json:"host"`
	Dataset Dataset     `json:"dataset"`
	// Runner describes the model and runtime.
	Runner   runners.Info   `json:"runner"`
	Prompts  []PromptInfo   `json:"prompts"`
	Policies []string       `json:"policies"`
	Sampling map[string]any `json:"sampling,omitempty"`
	Seed     uint64         `json:"seed"`
	Config   map[string]any `json:"config,omitempty"`
	// Shard is set on one part of a sharded run (eval --shard I/N).
	Shard *Shard `json:"shard,omitempty"`
	// Merge is set on a record merged from shard runs (medbench merge).
	Merge *Merge `json:"merge,omitempty"`
}

// Shard describes the part of the selection a sharded run evaluates: the
// dataset samples whose key (the sample id) hashes to Index modulo Count
// (see evaluate.ShardOf), under every prompt.
type Shard struct {
	Index int `json:"index"`
	Count int `json:"count"`
	// Samples is the number of dataset samples in this shard; Total the
	// number in the whole selection (Dataset.N).
	Samples int `json:"samples"`
	Total   int `json:"total"`
	// Selection lists the dataset indices of the whole selection in
	// evaluation order (see EncodeIndices), so that a merge can name every
	// missing sample and restore an unsharded run's sample order.
	Selection string `json:"selection"`
}

// Merge describes a record merged from the runs of one sharded evaluation.
type Merge struct {
	Count int         `json:"count"`
	Runs  []MergedRun `json:"runs"`
	// Partial is true when samples were missing (merge --allow-partial);
	// Missing lists their keys (prompt/id).
	Partial bool     `json:"partial,omitempty"`
	Missing []string `json:"missing,omitempty"`
}

// MergedRun is one shard run of a merge, identified by the SHA-256 of its
// manifest.json and samples.jsonl as read.
type MergedRun struct {
	Dir            string    `json:"dir"`
	Index          int       `json:"index"`
	Samples        int       `json:"samples"`
	Finished       bool      `json:"finished"`
	Host           string    `json:"host,omitempty"`
	Started        time.Time `json:"started"`
	ManifestSHA256 string    `json:"manifest_sha256"`
	SamplesSHA256  string    `json:"samples_sha256"`
}

// Host describes the machine.
type Host struct {
	Hostname string `json:"hostname"`
	OS       string `json:"os"`
	Arch     string `json:"arch"`
	CPUs     int    `json:"cpus"`
	Go       string `json:"go"`
}

// Dataset identifies the evaluated data.
type Dataset struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Images string `json:"images,omitempty"`
	// ImagesSHA256 digests the sha256 of every selected sample's images in
	// selection order: the images' content, whatever the root's spelling.
	ImagesSHA256 string   `json:"images_sha256,omitempty"`
	Selection    string   `json:"selection"`
	Modalities   []string `json:"modalities"`
	N            int      `json:"n"`
}

// PromptInfo records a template by name and its exact text.
type PromptInfo struct {
	Name string `json:"name"`
	Text string `json:"text"`
}
