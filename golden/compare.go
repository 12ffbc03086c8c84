package golden

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/medbench/medbench/metrics"
	"github.com/medbench/medbench/records"
)

// Side is one arm of a paired comparison: a run and the prompt whose
// samples are compared.
type Side struct {
	Run    *records.Run
	Prompt string
	// Label names the arm in reports (e.g. "A", "simple").
	Label string
}

// CompareOptions configure Compare. Zero values take the defaults noted.
type CompareOptions struct {
	Policy    string  // scoring policy; default "strict"
	Alpha     float64 // family-wise level for the Holm-adjusted verdicts; default 0.05
	Power     float64 // power for the MDE; default 0.8
	Resamples int     // paired bootstrap resamples; default 10000
	Seed      uint64  // bootstrap seed
	Conf      float64 // bootstrap interval confidence; default 0.95
}

func (o *CompareOptions) defaults() {
	if o.Policy == "" {
		o.Policy = "strict"
	}
	if o.Alpha == 0 {
		o.Alpha = 0.05
	}
	if o.Power == 0 {
		o.Power = 0.8
	}
	if o.Resamples == 0 {
		o.Resamples = 10000
	}
	if o.Conf == 0 {
		o.Conf = 0.95
	}
}

// Verdicts of a comparison row.
const (
	CmpBetter = "B better"
	CmpWorse  = "B worse"
	CmpNS     = "no significant difference"
)

// CompareRow is the paired comparison of one modality ("all" pools them).
type CompareRow struct {
	Modality string
	N        int     // paired items
	AccA     float64 // accuracy of A on the paired items
	AccB     float64
	Delta    float64 // AccB − AccA
	Lo, Hi   float64 // paired bootstrap interval of Delta
	// B counts items A got right and B wrong; C the reverse.
	B, C int
	// P is the two-sided exact McNemar p-value; PHolm its Holm adjustment
	// across the modalities (equal to P for the pooled row, which is not
	// part of the family).
	P, PHolm float64
	// MDE is the minimum detectable difference at Alpha and Power given N
	// and the observed discordance (b+c)/N; +Inf when there is none.
	MDE     float64
	Verdict string
}

// DiscordantItem is an item on which the two arms disagree.
type DiscordantItem struct {
	Modality, ID, Solution, Question string
	CorrectA, CorrectB               bool
	// ExtractedA/B are the extracted answers under the policy ("" if none).
	ExtractedA, ExtractedB string
	OutputA, OutputB       string
}

// Comparison is the result of Compare.
type Comparison struct {
	A, B    string // labels
	Options CompareOptions
	Rows    []CompareRow // per modality, in order of appearance
	Pooled  CompareRow   // all modalities pooled
	// OnlyA and OnlyB count items present in one arm only (excluded).
	OnlyA, OnlyB int
	Discordant   []DiscordantItem
}

// Intersection reports whether the arms covered different item sets, so
// the comparison is restricted to their intersection.
func (c *Comparison) Intersection() bool { return c.OnlyA > 0 || c.OnlyB > 0 }

// Compare pairs the samples of two arms by modality and sample id (on the
// intersection of their item sets) and compares their accuracy under
// opts.Policy per modality: accuracies, Δ with a paired bootstrap interval,
// discordant counts, exact McNemar p, Holm-adjusted p across modalities,
// MDE and a verdict at opts.Alpha. Paired items must agree on question,
// options, image (when both record one) and solution, otherwise the runs
// are not over the same data and Compare fails.
func Compare(ctx context.Context, a, b Side, opts CompareOptions) (*Comparison, error) {
	opts.defaults()
	if !(opts.Alpha > 0 && opts.Alpha < 1) || !(opts.Power >= 0.5 && opts.Power < 1) || opts.Resamples < 1 || !(opts.Conf > 0 && opts.Conf < 1) {
		return nil, fmt.Errorf("golden: compare: invalid options alpha=%v power=%v resamples=%d conf=%v", opts.Alpha, opts.Power, opts.Resamples, opts.Conf)
	}
	sa, err := armSamples(a, opts.Policy)
	if err != nil {
		return nil, err
	}
	sb, err := armSamples(b, opts.Policy)
	if err != nil {
		return nil, err
	}
	res := &Comparison{A: a.Label, B: b.Label, Options: opts}
	type pair struct{ x, y records.ScoredSample }
	byMod := map[string][]pair{}
	var mods []string
	for _, x := range sa.list {
		y, ok := sb.byKey[x.Modality+"/"+x.ID]
		if !ok {
			res.OnlyA++
			continue
		}
		if x.Question != y.Question || x.Solution != y.Solution || !slices.Equal(x.Options, y.Options) || (x.Image != "" && y.Image != "" && x.Image != y.Image) {
			return nil, fmt.Errorf("golden: compare: item %s/%s differs between %s (%s) and %s (%s): question, options, image or solution not the same; the runs are not over the same data",
				x.Modality, x.ID, a.Label, a.Run.Dir, b.Label, b.Run.Dir)
		}
		if _, ok := byMod[x.Modality]; !ok {
			mods = append(mods, x.Modality)
		}
		byMod[x.Modality] = append(byMod[x.Modality], pair{x, y})
	}
	for _, y := range sb.list {
		if _, ok := sa.byKey[y.Modality+"/"+y.ID]; !ok {
			res.OnlyB++
		}
	}
	if len(mods) == 0 {
		return nil, fmt.Errorf("golden: compare: %s and %s have no items in common under prompt %q/%q", a.Run.Dir, b.Run.Dir, a.Prompt, b.Prompt)
	}
	var allA, allB []bool
	for _, m := range mods {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("golden: compare: %w", err)
		}
		ps := byMod[m]
		sort.Slice(ps, func(i, j int) bool { return cmpID(ps[i].x, ps[j].x) < 0 })
		xa, xb := make([]bool, len(ps)), make([]bool, len(ps))
		for i, p := range ps {
			xa[i], xb[i] = correct(p.x, opts.Policy), correct(p.y, opts.Policy)
			if xa[i] != xb[i] {
				res.Discordant = append(res.Discordant, DiscordantItem{
					Modality: m, ID: p.x.ID, Solution: p.x.Solution, Question: p.x.Question,
					CorrectA: xa[i], CorrectB: xb[i],
					ExtractedA: extracted(p.x, opts.Policy), ExtractedB: extracted(p.y, opts.Policy),
					OutputA: p.x.Output, OutputB: p.y.Output,
				})
			}
		}
		allA, allB = append(allA, xa...), append(allB, xb...)
		res.Rows = append(res.Rows, pairedRow(m, xa, xb, opts))
	}
	ps := make([]float64, len(res.Rows))
	for i, r := range res.Rows {
		ps[i] = r.P
	}
	for i, p := range metrics.Holm(ps) {
		res.Rows[i].PHolm = p
		res.Rows[i].Verdict = verdictOf(res.Rows[i].Delta, p, opts.Alpha)
	}
	res.Pooled = pairedRow("all", allA, allB, opts)
	res.Pooled.PHolm = res.Pooled.P
	res.Pooled.Verdict = verdictOf(res.Pooled.Delta, res.Pooled.P, opts.Alpha)
	return res, nil
}

func verdictOf(delta, p, alpha float64) string {
	switch {
	case p > alpha || delta == 0:
		return CmpNS
	case delta > 0:
		return CmpBetter
	}
	return CmpWorse
}

func pairedRow(mod string, xa, xb []bool, o CompareOptions) CompareRow {
	n := len(xa)
	b, c := metrics.Discordant(xa, xb)
	delta, lo, hi := metrics.PairedBootstrap(xa, xb, o.Resamples, o.Seed, o.Conf)
	ka, kb := 0, 0
	for i := range xa {
		ka += b2i(xa[i])
		kb += b2i(xb[i])
	}
	return CompareRow{
		Modality: mod, N: n,
		AccA: float64(ka) / float64(n), AccB: float64(kb) / float64(n),
		Delta: delta, Lo: lo, Hi: hi, B: b, C: c,
		P:   metrics.McNemarExact(b, c),
		MDE: metrics.MDE(n, float64(b+c)/float64(n), o.Alpha, o.Power),
	}
}

func b2i(v bool) int {
	if v {
		return 1
	}
	return 0
}

type arm struct {
	list  []records.ScoredSample
	byKey map[string]records.ScoredSample
}

func armSamples(s Side, policy string) (*arm, error) {
	if s.Run == nil {
		return nil, fmt.Errorf("golden: compare: arm %s has no run", s.Label)
	}
	a := &arm{byKey: map[string]records.ScoredSample{}}
	scored := false
	for _, x := range s.Run.Samples {
		if x.Prompt != s.Prompt {
			continue
		}
		if x.ID == "" || x.Modality == "" {
			return nil, fmt.Errorf("golden: compare: run %s: sample %q lacks id or modality", s.Run.Dir, x.Key())
		}
		if _, ok := x.Correct[policy]; ok {
			scored = true
		}
		k := x.Modality + "/" + x.ID
		if _, dup := a.byKey[k]; !dup {
			a.list = append(a.list, x)
		} else {
			// Resumed runs may repeat a key; the last line wins.
			for i := range a.list {
				if a.list[i].Modality == x.Modality && a.list[i].ID == x.ID {
					a.list[i] = x
				}
			}
		}
		a.byKey[k] = x
	}
	if len(a.list) == 0 {
		return nil, fmt.Errorf("golden: compare: run %s has no samples for prompt %q", s.Run.Dir, s.Prompt)
	}
	if !scored {
		return nil, fmt.Errorf("golden: compare: run %s has no scores under policy %q for prompt %q", s.Run.Dir, policy, s.Prompt)
	}
	return a, nil
}

func correct(s records.ScoredSample, policy string) bool { return s.Error == "" && s.Correct[policy] }

func extracted(s records.ScoredSample, policy string) string {
	if e := s.Extractions[policy]; e != nil {
		return *e
	}
	return ""
}

// cmpID orders samples by dataset index, then id.
func cmpID(x, y records.ScoredSample) int {
	return cmp.Or(cmp.Compare(x.Index, y.Index), cmp.Compare(x.ID, y.ID))
}

// SortDiscordant orders discordant items: B's losses first (items A got
// right), then by modality and id.
func SortDiscordant(ds []DiscordantItem) {
	slices.SortStableFunc(ds, func(x, y DiscordantItem) int {
		if x.CorrectA != y.CorrectA {
			if x.CorrectA {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(x.Modality, y.Modality), cmp.Compare(x.ID, y.ID))
	})
}

// fmtMDE renders an MDE in percentage points.
func fmtMDE(x float64) string {
	if math.IsInf(x, 1) || math.IsNaN(x) {
		return "—"
	}
	return fmt.Sprintf("%.1f pp", 100*x)
}
