package records

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/medbench/medbench/answer"
	"github.com/medbench/medbench/internal/utf8bom"
)

// SeedOutput is the seed's per-modality output file
// (test_qwen2vl_med.py lines 209-214): accuracy in percent, unrounded, and
// one result per evaluated record in dataset order.
type SeedOutput struct {
	Accuracy float64      `json:"accuracy"`
	Results  []SeedResult `json:"results"`
}

// SeedResult is one entry of SeedOutput.Results.
type SeedResult struct {
	// Question is the full input record (the seed's 8-field object).
	Question json.RawMessage `json:"question"`
	// GroundTruth is the record's solution letter.
	GroundTruth string `json:"ground_truth"`
	// ModelOutput is the decoded generation.
	ModelOutput string `json:"model_output"`
	// ExtractedAnswer is the letter (a tagged prompt: complex), the raw
	// output (a letter-only prompt: simple), or null when nothing was
	// extracted.
	ExtractedAnswer *string `json:"extracted_answer"`
}

// SeedFileName names the seed-format file of one modality × prompt inside a
// run directory: seed_<modality>_<prompt>.json, with characters other than
// letters, digits, '-' and '.' replaced by '_'.
func SeedFileName(modality, prompt string) string {
	clean := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
				return r
			}
			return '_'
		}, s)
	}
	return "seed_" + clean(modality) + "_" + clean(prompt) + ".json"
}

// SeedResults converts samples (one modality × prompt) to the seed's output:
// results in dataset-index order, accuracy as 100·correct/N under the strict
// policy. format is the answer format of the prompt's template: for a
// letter-only prompt (the seed's simple) extracted_answer is the raw
// output, as the seed stores it; for a tagged one the strict extraction. A
// failed sample has an empty model_output and a null extracted_answer.
func SeedResults(samples []ScoredSample, format answer.Format) SeedOutput {
	sorted := append([]ScoredSample(nil), samples...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Index < sorted[j].Index })
	out := SeedOutput{Results: make([]SeedResult, 0, len(sorted))}
	correct := 0
	for _, s := range sorted {
		r := SeedResult{GroundTruth: s.Solution, Question: s.Record}
		if len(r.Question) == 0 {
			q, _ := json.Marshal(struct {
				Image    []string `json:"image,omitempty"`
				Question string   `json:"question"`
				Options  []string `json:"options,omitempty"`
				Solution string   `json:"solution"`
			}{imageList(s.Image), s.Question, s.Options, s.Solution})
			r.Question = q
		}
		if s.Error == "" {
			r.ModelOutput = s.Output
			if format == answer.LetterOnly {
				o := s.Output
				r.ExtractedAnswer = &o
			} else {
				r.ExtractedAnswer = s.Extractions["strict"]
			}
			if s.Correct["strict"] {
				correct++
			}
		}
		out.Results = append(out.Results, r)
	}
	if len(sorted) > 0 {
		out.Accuracy = float64(correct) / float64(len(sorted)) * 100
	}
	return out
}

func imageList(p string) []string {
	if p == "" {
		return nil
	}
	return []string{p}
}

// WriteSeedFile writes samples of one modality × prompt in the seed's output
// shape (see SeedResults; format is the prompt's answer format), formatted
// as Python's json.dump(..., indent=2) formats it: two-space indent,
// non-ASCII escaped as \uXXXX, floats in Python repr (100.0, not 100), no
// trailing newline.
func WriteSeedFile(path string, samples []ScoredSample, format answer.Format) error {
	b, err := MarshalSeedOutput(SeedResults(samples, format))
	if err != nil {
		return fmt.Errorf("records: %s: %w", path, err)
	}
	return writeFileAtomic(path, b)
}

// MarshalSeedOutput encodes o as Python's json.dump(o, f, indent=2) would.
func MarshalSeedOutput(o SeedOutput) ([]byte, error) {
	type pyOut struct {
		Accuracy json.RawMessage `json:"accuracy"`
		Results  []SeedResult    `json:"results"`
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(pyOut{Accuracy: json.RawMessage(pyFloat(o.Accuracy)), Results: o.Results}); err != nil {
		return nil, err
	}
	return asciiEscape(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), nil
}

// pyFloat formats f as Python's float repr does for finite values.
func pyFloat(f float64) string {
	exp := strconv.FormatFloat(f, 'e', -1, 64)
	// repr uses scientific notation when the exponent is < -4 or >= 16.
	if e := strings.IndexByte(exp, 'e'); e >= 0 {
		n, _ := strconv.Atoi(exp[e+1:])
		if n < -4 || n >= 16 {
			mant := exp[:e]
			sign := "+"
			if n < 0 {
				sign, n = "-", -n
			}
			return fmt.Sprintf("%se%s%02d", mant, sign, n)
		}
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// asciiEscape rewrites every non-ASCII rune (which in JSON text can only
// occur inside strings) as \uXXXX with lowercase hex, using surrogate pairs
// above the BMP, as Python's ensure_ascii does.
func asciiEscape(b []byte) []byte {
	var out bytes.Buffer
	out.Grow(len(b))
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r < utf8.RuneSelf {
			out.WriteByte(b[0])
		} else if r > 0xffff {
			r -= 0x10000
			fmt.Fprintf(&out, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
		} else {
			fmt.Fprintf(&out, `\u%04x`, r)
		}
		b = b[size:]
	}
	return out.Bytes()
}

// ReadSeedFile reads a seed-format output file. Every result must have a
// question object and a model_output string; the error names the file and
// the result index otherwise.
func ReadSeedFile(path string) (*SeedOutput, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	return ParseSeedOutput(path, utf8bom.Trim(b))
}

// ParseSeedOutput parses the content of a seed-format file named path.
func ParseSeedOutput(path string, b []byte) (*SeedOutput, error) {
	var raw struct {
		Accuracy *float64 `json:"accuracy"`
		Results  []struct {
			Question        json.RawMessage `json:"question"`
			GroundTruth     *string         `json:"ground_truth"`
			ModelOutput     *string         `json:"model_output"`
			ExtractedAnswer *string         `json:"extracted_answer"`
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("records: %s: not a seed output file: %w", path, err)
	}
	if raw.Results == nil {
		return nil, fmt.Errorf("records: %s: not a seed output file: no \"results\" array", path)
	}
	out := &SeedOutput{Results: make([]SeedResult, len(raw.Results))}
	if raw.Accuracy != nil {
		out.Accuracy = *raw.Accuracy
	}
	for i, r := range raw.Results {
		q := bytes.TrimSpace(r.Question)
		if len(q) == 0 || q[0] != '{' {
			return nil, fmt.Errorf("records: %s: results[%d]: \"question\" is not the record object", path, i)
		}
		if r.ModelOutput == nil {
			return nil, fmt.Errorf("records: %s: results[%d]: no \"model_output\" string", path, i)
		}
		gt := ""
		if r.GroundTruth != nil {
			gt = *r.GroundTruth
		}
		out.Results[i] = SeedResult{Question: r.Question, GroundTruth: gt, ModelOutput: *r.ModelOutput, ExtractedAnswer: r.ExtractedAnswer}
	}
	return out, nil
}
