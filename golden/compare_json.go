package golden

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
)

// CompareJSONVersion is the schema version of compare.json; it changes when
// a field is renamed, removed or changes meaning.
const CompareJSONVersion = 1

// CompareJSON is compare.json: the comparison of compare.md for pipelines.
// Accuracies, Δ and its interval are fractions (compare.md shows percent).
type CompareJSON struct {
	SchemaVersion int    `json:"schema_version"`
	Title         string `json:"title"`
	A             string `json:"a"`
	B             string `json:"b"`
	Policy        string `json:"policy"`
	// Alpha is the family-wise level of the Holm-adjusted verdicts; Power
	// the power of the MDE; CILevel the bootstrap interval's confidence.
	Alpha     float64 `json:"alpha"`
	Power     float64 `json:"power"`
	CILevel   float64 `json:"ci_level"`
	Resamples int     `json:"resamples"`
	Seed      uint64  `json:"seed"`
	// OnlyA and OnlyB count items in one arm only, excluded from the cells.
	OnlyA      int `json:"only_a"`
	OnlyB      int `json:"only_b"`
	Discordant int `json:"discordant"`
	// Cells are the modalities in order, then the pooled cell ("all").
	Cells []CompareCell `json:"cells"`
}

// CompareCell is one row of the comparison.
type CompareCell struct {
	Modality string `json:"modality"`
	// Pooled marks the "all" cell, which is not in the Holm family.
	Pooled bool    `json:"pooled"`
	N      int     `json:"n"`
	AccA   float64 `json:"acc_a"`
	AccB   float64 `json:"acc_b"`
	Delta  float64 `json:"delta"`
	CILow  float64 `json:"ci_low"`
	CIHigh float64 `json:"ci_high"`
	// B counts items only A got right, C items only B got right.
	B     int     `json:"b"`
	C     int     `json:"c"`
	P     float64 `json:"p_mcnemar"`
	PHolm float64 `json:"p_holm"`
	// MDE is null when there is no discordance (no difference detectable).
	MDE *float64 `json:"mde"`
	// Verdict is B relative to A at Alpha on the Holm p-value: "better",
	// "worse" or "none"; VerdictText is compare.md's wording.
	Verdict     string `json:"verdict"`
	VerdictText string `json:"verdict_text"`
}

// JSON is the comparison as compare.json holds it.
func (c *Comparison) JSON(title string) CompareJSON {
	o := c.Options
	out := CompareJSON{SchemaVersion: CompareJSONVersion, Title: title, A: c.A, B: c.B, Policy: o.Policy,
		Alpha: o.Alpha, Power: o.Power, CILevel: o.Conf, Resamples: o.Resamples, Seed: o.Seed,
		OnlyA: c.OnlyA, OnlyB: c.OnlyB, Discordant: len(c.Discordant)}
	for i, r := range append(append([]CompareRow(nil), c.Rows...), c.Pooled) {
		cell := CompareCell{Modality: r.Modality, Pooled: i == len(c.Rows),
			N: r.N, AccA: r.AccA, AccB: r.AccB, Delta: r.Delta, CILow: r.Lo, CIHigh: r.Hi, B: r.B, C: r.C,
			P: r.P, PHolm: r.PHolm, Verdict: "none", VerdictText: strings.Replace(r.Verdict, "B ", c.B+" ", 1)}
		if !math.IsInf(r.MDE, 0) && !math.IsNaN(r.MDE) {
			m := r.MDE
			cell.MDE = &m
		}
		switch r.Verdict {
		case CmpBetter:
			cell.Verdict = "better"
		case CmpWorse:
			cell.Verdict = "worse"
		}
		out.Cells = append(out.Cells, cell)
	}
	return out
}

// WriteJSON writes compare.json (indented).
func (c *Comparison) WriteJSON(w io.Writer, title string) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(c.JSON(title)); err != nil {
		return fmt.Errorf("golden: compare.json: %w", err)
	}
	return nil
}
