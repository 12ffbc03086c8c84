package records

import (
	"bytes"
	"fmt"
	"os"
	"sort"

	"github.com/parquet-go/parquet-go"
)

// Parquet column names. Per-policy columns are extracted_<policy> (optional
// string: null when nothing was extracted) and correct_<policy> (boolean).
// parquet-go orders a group's columns by name.
const (
	parquetExtractedPrefix = "extracted_"
	parquetCorrectPrefix   = "correct_"
)

// ParquetSchema returns the samples.parquet schema for the given policies:
// id, index, modality, prompt, solution, question, image, output,
// token_ids (list<int32>), prompt_tokens, completion_tokens, latency_ms,
// finish_reason, error (optional), seed, and per policy extracted_<p>
// (optional) and correct_<p>.
func ParquetSchema(policies []string) *parquet.Schema {
	g := parquet.Group{
		"id":                parquet.String(),
		"index":             parquet.Int(64),
		"modality":          parquet.String(),
		"prompt":            parquet.String(),
		"solution":          parquet.String(),
		"question":          parquet.String(),
		"image":             parquet.String(),
		"output":            parquet.String(),
		"token_ids":         parquet.List(parquet.Int(32)),
		"prompt_tokens":     parquet.Int(64),
		"completion_tokens": parquet.Int(64),
		"latency_ms":        parquet.Leaf(parquet.DoubleType),
		"finish_reason":     parquet.String(),
		"error":             parquet.Optional(parquet.String()),
		"seed":              parquet.Uint(64),
	}
	for _, p := range policies {
		g[parquetExtractedPrefix+p] = parquet.Optional(parquet.String())
		g[parquetCorrectPrefix+p] = parquet.Leaf(parquet.BooleanType)
	}
	return parquet.NewSchema("sample", g)
}

// SamplePolicies lists, sorted, every policy any sample has an extraction
// or a correctness entry for.
func SamplePolicies(samples []ScoredSample) []string {
	set := map[string]bool{}
	for _, s := range samples {
		for p := range s.Extractions {
			set[p] = true
		}
		for p := range s.Correct {
			set[p] = true
		}
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// ParquetRow converts a sample to a row of ParquetSchema(policies).
func ParquetRow(s ScoredSample, policies []string) map[string]any {
	ids := make([]int32, len(s.TokenIDs))
	for i, t := range s.TokenIDs {
		ids[i] = int32(t)
	}
	row := map[string]any{
		"id":                s.ID,
		"index":             int64(s.Index),
		"modality":          s.Modality,
		"prompt":            s.Prompt,
		"solution":          s.Solution,
		"question":          s.Question,
		"image":             s.Image,
		"output":            s.Output,
		"token_ids":         ids,
		"prompt_tokens":     int64(s.PromptTokens),
		"completion_tokens": int64(s.CompletionTokens),
		"latency_ms":        s.LatencyMS,
		"finish_reason":     s.FinishReason,
		"error":             nil,
		"seed":              s.Seed,
	}
	if s.Error != "" {
		row["error"] = s.Error
	}
	for _, p := range policies {
		if e := s.Extractions[p]; e != nil {
			row[parquetExtractedPrefix+p] = *e
		} else {
			row[parquetExtractedPrefix+p] = nil
		}
		row[parquetCorrectPrefix+p] = s.Correct[p]
	}
	return row
}

// WriteParquet writes samples to path (atomically) with one row per sample
// and the columns of ParquetSchema for the policies present in the samples.
func WriteParquet(path string, samples []ScoredSample) error {
	policies := SamplePolicies(samples)
	schema := ParquetSchema(policies)
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[map[string]any](&buf, schema, parquet.Compression(&parquet.Zstd))
	rows := make([]map[string]any, len(samples))
	for i, s := range samples {
		rows[i] = ParquetRow(s, policies)
	}
	if _, err := w.Write(rows); err != nil {
		return fmt.Errorf("records: %s: %w", path, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("records: %s: %w", path, err)
	}
	return writeFileAtomic(path, buf.Bytes())
}

// ReadParquet reads samples.parquet back as generic rows keyed by column name.
func ReadParquet(path string) ([]map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("records: %s: %w", path, err)
	}
	r := parquet.NewGenericReader[map[string]any](bytes.NewReader(b), f.Schema())
	defer r.Close()
	n := int(r.NumRows())
	rows := make([]map[string]any, n)
	for i := range rows {
		rows[i] = map[string]any{}
	}
	read := 0
	for read < n {
		k, err := r.Read(rows[read:])
		read += k
		if err != nil {
			if read == n {
				break
			}
			return nil, fmt.Errorf("records: %s: %w", path, err)
		}
	}
	return rows, nil
}
