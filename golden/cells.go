package golden

import (
	"fmt"
	"slices"

	"github.com/medbench/medbench/records"
)

// runIndex groups a run's samples by prompt and modality, deduplicated by
// sample key (the last line of a key wins, as when a run is resumed).
type runIndex struct {
	dir        string
	modalities []string // in order of first appearance
	prompts    []string
	policies   map[string]bool
	samples    map[string]map[string][]records.ScoredSample // prompt → modality → samples
}

func indexRun(run *records.Run) (*runIndex, error) {
	ix := &runIndex{dir: run.Dir, policies: map[string]bool{}, samples: map[string]map[string][]records.ScoredSample{}}
	// Policies come from the samples' score maps, keyed by policy name; the
	// manifest lists versioned ids ("strict/v1") and is not used here.
	pos := map[string]int{}
	var list []records.ScoredSample
	for _, s := range run.Samples {
		if s.ID == "" || s.Modality == "" || s.Prompt == "" {
			return nil, fmt.Errorf("golden: run %s: sample %q (index %d) lacks id, modality or prompt", run.Dir, s.Key(), s.Index)
		}
		if i, ok := pos[s.Key()]; ok {
			list[i] = s
			continue
		}
		pos[s.Key()] = len(list)
		list = append(list, s)
	}
	for _, s := range list {
		if !slices.Contains(ix.prompts, s.Prompt) {
			ix.prompts = append(ix.prompts, s.Prompt)
		}
		if !slices.Contains(ix.modalities, s.Modality) {
			ix.modalities = append(ix.modalities, s.Modality)
		}
		for p := range s.Correct {
			ix.policies[p] = true
		}
		for p := range s.Extractions {
			ix.policies[p] = true
		}
		if ix.samples[s.Prompt] == nil {
			ix.samples[s.Prompt] = map[string][]records.ScoredSample{}
		}
		ix.samples[s.Prompt][s.Modality] = append(ix.samples[s.Prompt][s.Modality], s)
	}
	return ix, nil
}

// cellData is one cell's per-item outcomes.
type cellData struct {
	value float64
	n     int
	// bad counts the items that are not good (wrong, unparsed, failed).
	bad int
	// good maps modality+"/"+id to the item's outcome in the metric's good
	// direction (correct; parsed; ran without error).
	good map[string]bool
}

func (ix *runIndex) get(c *cellData, k string) (bool, bool) {
	g, ok := c.good[k]
	return g, ok
}

// outcome returns whether sample s is "good" for metric under policy, with
// the semantics of metrics.Summarize: a failed sample (Error set) is wrong
// and a parse failure; a sample without an entry for the policy is wrong
// and a parse failure.
func outcome(s records.ScoredSample, metric, policy string) (good bool, err error) {
	switch metric {
	case MetricAccuracy:
		return s.Error == "" && s.Correct[policy], nil
	case MetricParseFailureRate:
		return s.Error == "" && s.Extractions[policy] != nil, nil
	case MetricErrorRate:
		return s.Error == "", nil
	}
	return false, fmt.Errorf("unknown metric %q (known: %s, %s, %s)", metric, MetricAccuracy, MetricParseFailureRate, MetricErrorRate)
}

// cell computes a cell; modality "mean" averages the run's modalities for
// the prompt, unweighted, and pools their items.
func (ix *runIndex) cell(modality, prompt, policy, metric string) (*cellData, error) {
	byMod, ok := ix.samples[prompt]
	if !ok {
		return nil, fmt.Errorf("run %s has no samples for prompt %q (prompts: %v)", ix.dir, prompt, ix.prompts)
	}
	if !ix.policies[policy] {
		return nil, fmt.Errorf("run %s has no scores under policy %q", ix.dir, policy)
	}
	mods := []string{modality}
	if modality == ModalityMean {
		mods = nil
		for _, m := range ix.modalities {
			if len(byMod[m]) > 0 {
				mods = append(mods, m)
			}
		}
	}
	c := &cellData{good: map[string]bool{}}
	sum := 0.0
	for _, m := range mods {
		ss := byMod[m]
		if len(ss) == 0 {
			return nil, fmt.Errorf("run %s has no %s samples for prompt %q", ix.dir, m, prompt)
		}
		k := 0
		for _, s := range ss {
			g, err := outcome(s, metric, policy)
			if err != nil {
				return nil, fmt.Errorf("run %s: %w", ix.dir, err)
			}
			if g {
				k++
			}
			c.good[m+"/"+s.ID] = g
		}
		// Rates count the bad items directly: (n−k)/n, not 1 − k/n, so that
		// exact fractions stay exact.
		f := float64(k) / float64(len(ss))
		if metric != MetricAccuracy {
			f = float64(len(ss)-k) / float64(len(ss))
		}
		sum += f
		c.n += len(ss)
		c.bad += len(ss) - k
	}
	c.value = sum / float64(len(mods))
	return c, nil
}
