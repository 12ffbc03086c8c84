// Package reports turns run records, golden verdicts, comparisons, training
// logs and bench results into plots (PNG, SVG), tables (CSV, HTML, Markdown)
// and a multi-page PDF.
//
// The package takes plain view structs (this file) rather than the types of
// the packages that compute them, so that it depends on nothing but records
// and can be fed from any source (our runs, imported logs, tests).
package reports

import "github.com/medbench/medbench/records"

// Input is everything a report can show. Only Runs is required; every other
// part adds its pages when present.
type Input struct {
	Title string
	// Version is the medbench version that wrote the report.
	Version string
	Runs    []*records.Run
	// RunNames label the runs in tables and legends (default: directory base names).
	RunNames []string
	// Golden marks the expected values (with tolerance bands) on accuracy bars.
	Golden []GoldenMark
	// Verdicts is the outcome of `medbench check` (verdict page).
	Verdicts []VerdictRow
	// Comparisons are paired comparisons (prompt ablation or run vs run).
	Comparisons []Comparison
	// Train is a training log (metrics.jsonl) with optional golden bands.
	Train *TrainLog
	// Bench holds throughput/latency measurements.
	Bench []BenchRow
	// GalleryPerModality is how many samples per modality the gallery shows
	// (default 3; 0 keeps the default, negative disables the gallery).
	GalleryPerModality int
}

// GoldenMark is one expected accuracy value to draw over the bars.
type GoldenMark struct {
	Modality, Prompt, Policy string
	Value                    float64 // fraction in [0,1]
	Low, High                float64 // tolerance band (fractions); Low==High==Value for none
	Label                    string
}

// VerdictRow is one checked golden cell.
type VerdictRow struct {
	// Check names the golden check the row belongs to (e.g. the golden
	// file and the run or training log it was checked against); page 1
	// counts verdicts per check.
	Check     string
	Cell      string // e.g. "MRI / complex / strict / accuracy"
	Value     float64
	Expected  float64
	Tolerance string
	P         *float64
	Status    string // pass, regression, missing
	Detail    string
}

// Comparison is a paired comparison of two arms (A and B) per modality.
type Comparison struct {
	Title      string
	A, B       string // arm labels
	Note       string // e.g. "compared on the intersection of 280 samples"
	Rows       []DeltaRow
	Discordant []Discordant
}

// DeltaRow is one modality's paired result.
type DeltaRow struct {
	Modality   string
	N          int
	AccA, AccB float64
	Delta      float64 // AccB - AccA
	Lo, Hi     float64 // bootstrap interval of Delta
	B, C       int     // discordant counts: A right & B wrong, A wrong & B right
	P, PHolm   float64
	MDE        float64
	Verdict    string
}

// Discordant is a sample on which the two arms disagree.
type Discordant struct {
	ID, Modality     string
	Question         string
	Image            string
	OutputA, OutputB string
	CorrectA         bool
	CorrectB         bool
	Solution         string
}

// TrainLog is a parsed metrics.jsonl: one map per optimizer step.
type TrainLog struct {
	Name  string
	Steps []map[string]float64
	// Bands are golden ranges per metric name (drawn as shaded bands).
	Bands map[string][2]float64
	// Marks are golden values at a given optimizer step (drawn as a marker
	// with its tolerance).
	Marks []TrainGoldenMark
}

// TrainGoldenMark is a golden training value at one optimizer step.
type TrainGoldenMark struct {
	Metric      string
	Step, Value float64
	Low, High   float64 // accepted range
}

// BenchRow is one bench measurement.
type BenchRow struct {
	Name            string // configuration label, e.g. "medbench cpu b=8"
	SamplesPerSec   float64
	TokensPerSec    float64
	LatencyP50MS    float64
	LatencyP90MS    float64
	SpreadPct       float64 // relative spread (e.g. IQR/median) of the repeated measurements
	Device, Machine string
}
