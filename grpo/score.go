package grpo

import "context"

// scored is a generation batch after scoring: what every update of the
// batch reuses.
type scored struct {
	groups []prepared
	// perFunc[f][i] is reward function f's reward of completion i; adv
	// the group advantages of their sum.
	perFunc [][]float64
	adv     Advantages
	// refs[g][b] are the reference policy's log-probs of completion b of
	// group g (nil without a KL term).
	refs [][][]float64
	// lens are the completion lengths and term whether each ended with EOS.
	lens []int
	term []bool
	// old[g][b] are the log-probs of the first update, the old policy of
	// the batch's later iterations.
	old [][][]float64
}

// score rewards every completion of the batch, forms the group advantages,
// computes the reference log-probs when the loss has a KL term, and counts
// the batch's tokens into numTokens.
func (t *trainRun) score(ctx context.Context, groups []prepared) (*scored, error) {
	b := &scored{groups: groups}
	var texts, sols []string
	for _, g := range groups {
		texts = append(texts, g.texts...)
		for range g.texts {
			sols = append(sols, g.sample.Record.Solution)
		}
		for _, c := range g.group.Completions {
			b.lens = append(b.lens, len(c))
			t.numTokens += float64(len(c) + len(g.group.PromptIDs))
		}
		b.term = append(b.term, g.term...)
	}
	perFunc, total, err := Score(t.funcs, texts, sols)
	if err != nil {
		return nil, err
	}
	b.perFunc = perFunc
	if b.adv, err = GroupAdvantages(total, t.cfg.NumGenerations, t.cfg.ScaleRewards); err != nil {
		return nil, err
	}
	if t.cfg.Beta > 0 {
		for _, g := range groups {
			r, err := t.eng.RefLogProbs(ctx, g.group)
			if err != nil {
				return nil, err
			}
			b.refs = append(b.refs, r)
		}
	}
	return b, nil
}
