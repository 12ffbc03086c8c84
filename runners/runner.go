// Package runners defines the Runner interface through which medbench sends
// prompts to a model, the generation settings shared by all runners, and
// the Registry of Drivers through which the command line offers them.
// Implementations live in sub-packages (qwen2vl for ONNX Runtime, openai for
// OpenAI-compatible servers, replay for re-scoring existing outputs).
//
// Adding a runner takes one package and one line: the package implements
// Runner and exports a Driver (its --runner name, its flags, its Open and
// its manifest config entries); cmd/medbench lists the Driver in
// defaultRunners. eval, bench, serve, train and tools generate then offer
// it with its flags (cmd/medbench's TestToyRunner does this with a runner
// defined in the test).
package runners

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Image is one input image: a file path, or embedded bytes (which win).
type Image struct {
	Path  string
	Bytes []byte
}

// Request is one prompt to generate from.
type Request struct {
	// ID identifies the sample (datasets.Sample.ID) and, for the replay runner,
	// selects the recorded output.
	ID string
	// Prompt names the question template used (simple, complex, ...); the replay
	// runner uses it to pick the recorded output.
	Prompt string
	// Images precede the text in the user turn, in order.
	Images []Image
	// Text is the user text after the images (the rendered question template).
	Text string
	// Seed seeds this sample's own RNG, so that a sample's sampled output does
	// not depend on the batch it lands in.
	Seed uint64
}

// ErrTransient marks a Result.Err caused by the infrastructure (a server
// that did not answer after the runner's retries) rather than by the
// sample: the sample is recorded as failed, and --resume generates it again.
var ErrTransient = errors.New("transient failure")

// Result is the outcome of one Request.
type Result struct {
	ID   string
	Text string
	// TokenIDs are the generated ids, including the EOS id when one ended the
	// sequence (as Hugging Face generate returns them).
	TokenIDs         []int
	PromptTokens     int
	CompletionTokens int
	// FinishReason is "eos", "length", "replay" or "error".
	FinishReason string
	Latency      time.Duration
	// FirstToken is the time from the Generate call to the request's first
	// generated token (prompt preparation and prefill; 0 when the runner
	// does not measure it). Latency − FirstToken is the decoding time.
	FirstToken time.Duration
	// Err is a per-sample failure (bad image, over-long prompt, ...). The
	// sample is recorded as failed; the run goes on.
	Err error
	// Warnings are recorded with the sample without failing it.
	Warnings []string
}

// Sampling holds the decoding settings, in Hugging Face generate semantics.
type Sampling struct {
	DoSample          bool    `json:"do_sample"`
	Temperature       float64 `json:"temperature"`
	TopK              int     `json:"top_k"`
	TopP              float64 `json:"top_p"`
	RepetitionPenalty float64 `json:"repetition_penalty"`
	MaxNewTokens      int     `json:"max_new_tokens"`
	MinNewTokens      int     `json:"min_new_tokens"`
	// Seed is the run seed; per-sample seeds derive from it and the sample id.
	Seed uint64 `json:"seed"`
}

// SeedPreset is MedVLM-R1's effective evaluation decoding: greedy, 512 new
// tokens. The seed script's --do_sample/--temperature/--max_new_tokens flags
// never took effect (generate() keyword arguments override them).
func SeedPreset() Sampling {
	return Sampling{DoSample: false, Temperature: 1, TopK: 0, TopP: 1, RepetitionPenalty: 1, MaxNewTokens: 512}
}

// Info describes a runner for the run manifest (its "runner" object). The
// fields are in the order of their JSON names, so that a manifest reads as
// it did when this was a map: keys sorted, empty ones left out (name is
// always written).
type Info struct {
	Device string `json:"device,omitempty"`
	// Files holds each model file's sha256 by its path relative to the
	// model folder.
	Files   map[string]string `json:"files,omitempty"`
	Model   string            `json:"model,omitempty"`
	Name    string            `json:"name"`
	Runtime string            `json:"runtime,omitempty"`
	// Settings are the runner's resolved settings (pixel bounds, sampling,
	// threads, ...), by their JSON names.
	Settings map[string]any `json:"settings,omitempty"`
}

// MarshalJSON writes the zero Info (a run that records no runner, such as
// the trainer's evals) as null, as the manifest's map did when it was nil.
func (i Info) MarshalJSON() ([]byte, error) {
	if i.Device == "" && len(i.Files) == 0 && i.Model == "" && i.Name == "" && i.Runtime == "" && len(i.Settings) == 0 {
		return []byte("null"), nil
	}
	type fields Info // without this method
	return json.Marshal(fields(i))
}

// Runner generates completions for batches of requests.
type Runner interface {
	// Generate returns one Result per Request, in order. A returned error is
	// an infrastructure failure that stops the run; per-sample problems are
	// reported in Result.Err instead.
	Generate(ctx context.Context, reqs []Request) ([]Result, error)
	Info() Info
	Close() error
}

// Profile is a runner's own account of where one Generate call's time went,
// for benchmarks: time inside the inference runtime versus the harness.
type Profile struct {
	// Wall is the whole Generate call.
	Wall time.Duration
	// Prepare is prompt assembly, tokenization, image decoding and
	// preprocessing.
	Prepare time.Duration
	// Runtime is the time inside the inference runtime's Run calls (vision
	// encoder, embeddings, decoder).
	Runtime time.Duration
	// Sampling is logits processing and token choice.
	Sampling time.Duration
	// FirstToken is from the call's start to the first generated token of
	// the batch (every sequence of a batch gets its first token together).
	FirstToken time.Duration
	// Prefill is the prompt's forward passes: vision encoder, embeddings and
	// the decoder over the prompt, up to the first token's logits.
	Prefill time.Duration
	// DecodeSteps are the later decode steps, each giving one token to every
	// active sequence (sampling included).
	DecodeSteps []time.Duration
	// PeakDeviceBytes is the most memory the runtime's allocators on the
	// runner's device held at once since the runner opened, summed over its
	// sessions (ONNX Runtime's arena statistic MaxInUse; on CUDA the GPU
	// memory). 0 when the runner does not measure it.
	PeakDeviceBytes int64
}

// Profiler is implemented by runners that account for their time; bench
// reads the profile of the last Generate call after it returns.
type Profiler interface {
	LastProfile() Profile
}
