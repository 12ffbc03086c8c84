package sampler

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"

	"github.com/medbench/medbench/runners"
)

// Sampler selects next tokens with Hugging Face generate() semantics, in the
// order of its logits processors: repetition penalty, min-new-tokens EOS
// suppression, then, only when sampling, temperature, top-k and top-p, then
// greedy (argmax) or multinomial selection. A Sampler owns scratch buffers
// sized to the vocabulary and is not safe for concurrent use.
type Sampler struct {
	cfg     runners.Sampling
	eos     []int
	vocab   int
	seen    []uint64
	scratch []float32
	probs   []float64
	idx     []int32
}

// New validates the settings as Hugging Face's GenerationConfig does and
// returns a Sampler for logits rows of width vocab. eos lists the ids masked
// while fewer than MinNewTokens tokens have been generated.
func New(cfg runners.Sampling, vocab int, eos []int) (*Sampler, error) {
	if vocab <= 0 {
		return nil, fmt.Errorf("sample: vocabulary size %d", vocab)
	}
	if err := Validate(cfg); err != nil {
		return nil, err
	}
	return &Sampler{
		cfg:     cfg,
		eos:     append([]int(nil), eos...),
		vocab:   vocab,
		seen:    make([]uint64, (vocab+63)/64),
		scratch: make([]float32, vocab),
		probs:   make([]float64, vocab),
		idx:     make([]int32, vocab),
	}, nil
}

// Validate checks sampling settings: a positive repetition penalty; when
// sampling, a positive temperature, top_k >= 0 and top_p in [0, 1];
// max_new_tokens > 0 and min_new_tokens in [0, max_new_tokens].
func Validate(cfg runners.Sampling) error {
	var errs []error
	if !(cfg.RepetitionPenalty > 0) {
		errs = append(errs, fmt.Errorf("repetition_penalty must be > 0, got %v", cfg.RepetitionPenalty))
	}
	if cfg.DoSample {
		if !(cfg.Temperature > 0) || math.IsInf(cfg.Temperature, 0) {
			errs = append(errs, fmt.Errorf("temperature must be a positive number when sampling, got %v", cfg.Temperature))
		}
		if cfg.TopK < 0 {
			errs = append(errs, fmt.Errorf("top_k must be >= 0, got %d", cfg.TopK))
		}
		if !(cfg.TopP >= 0 && cfg.TopP <= 1) {
			errs = append(errs, fmt.Errorf("top_p must be in [0, 1], got %v", cfg.TopP))
		}
	}
	if cfg.MaxNewTokens <= 0 {
		errs = append(errs, fmt.Errorf("max_new_tokens must be > 0, got %d", cfg.MaxNewTokens))
	}
	if cfg.MinNewTokens < 0 || cfg.MinNewTokens > cfg.MaxNewTokens {
		errs = append(errs, fmt.Errorf("min_new_tokens must be in [0, max_new_tokens=%d], got %d", cfg.MaxNewTokens, cfg.MinNewTokens))
	}
	if len(errs) > 0 {
		return fmt.Errorf("sample: invalid settings: %w", errors.Join(errs...))
	}
	return nil
}

// Settings returns the sampler's settings.
func (s *Sampler) Settings() runners.Sampling { return s.cfg }

// Sample processes logits in place (a row of the sampler's vocabulary width;
// the caller passes a float32 copy it owns) and returns the chosen id.
// context holds the prompt and generated ids (for the repetition penalty),
// generated is how many tokens this row has produced so far, and rng is the
// row's own generator (unused when greedy).
func (s *Sampler) Sample(logits []float32, context []int, generated int, rng *rand.Rand) (int, error) {
	if len(logits) != s.vocab {
		return -1, fmt.Errorf("sample: logits row has %d entries, want %d", len(logits), s.vocab)
	}
	RepetitionPenalty(logits, context, float32(s.cfg.RepetitionPenalty), s.seen)
	SuppressEOS(logits, s.eos, generated, s.cfg.MinNewTokens)
	var id int
	if !s.cfg.DoSample {
		id = Greedy(logits)
	} else {
		if rng == nil {
			return -1, errors.New("sample: sampling needs a random generator")
		}
		Temperature(logits, float32(s.cfg.Temperature))
		TopK(logits, s.cfg.TopK, 1, s.scratch)
		if s.cfg.TopP < 1 {
			// top-p leaves the kept probabilities in s.probs: draw from
			// them directly instead of a second softmax.
			if mass := topP(logits, s.cfg.TopP, 1, s.probs, s.idx); mass > 0 {
				id = draw(s.probs, mass, rng)
			} else {
				id = -1
			}
		} else {
			id = Multinomial(logits, rng, s.probs)
		}
	}
	if id < 0 {
		return -1, errors.New("sample: no finite logit left to choose from")
	}
	return id, nil
}

// SeedKind selects how SeedFor mixes the run seed with a sample key. Both
// kinds are kept because recorded runs depend on each: changing either would
// change the sampled outputs of existing records.
type SeedKind int

const (
	// RequestSeed is the seed a harness puts into runners.Request.Seed
	// (evaluate for prompt/id keys, the GRPO trainer for its rollouts):
	// FNV-1a 64 of the key, XORed with the run seed plus the golden ratio,
	// then SplitMix64's finalizer.
	RequestSeed SeedKind = iota
	// RunnerSeed is the seed a runner derives itself for a request that
	// carries none: FNV-1a 64 of the run seed's 8 little-endian bytes
	// followed by the key, then SplitMix64.
	RunnerSeed
)

// SeedFor derives a per-sample seed from the run seed and a sample key (for
// example the prompt name and sample id), so that a sample's random stream
// depends only on itself, not on the batch or order it runs in. kind says
// which of the two recorded derivations to use (see SeedKind).
func SeedFor(runSeed uint64, key string, kind SeedKind) uint64 {
	h := fnv.New64a()
	if kind == RequestSeed {
		h.Write([]byte(key))
		return mix64(h.Sum64() ^ (runSeed + golden))
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], runSeed)
	h.Write(b[:])
	h.Write([]byte(key))
	return splitmix64(h.Sum64())
}

// NewRand returns the PCG generator for a per-sample seed.
func NewRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, splitmix64(seed^golden)))
}

// golden is SplitMix64's increment (2^64 / the golden ratio).
const golden = 0x9e3779b97f4a7c15

func splitmix64(x uint64) uint64 { return mix64(x + golden) }

// mix64 is SplitMix64's finalizer.
func mix64(x uint64) uint64 {
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
