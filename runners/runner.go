// Package runners defines the Runner interface through which medbench sends
// prompts to a model, and the generation settings shared by all runners.
// Implementations live in sub-packages (qwen2vl for ONNX Runtime, replay for
// re-scoring existing outputs).
package runners

import (
	"context"
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

// Info describes a runner for the run manifest.
type Info struct {
	Name     string            `json:"name"`
	Model    string            `json:"model,omitempty"`
	Device   string            `json:"device,omitempty"`
	Runtime  string            `json:"runtime,omitempty"`
	Files    map[string]string `json:"files,omitempty"` // relative path -> sha256
	Settings map[string]any    `json:"settings,omitempty"`
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
