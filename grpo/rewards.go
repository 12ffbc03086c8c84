package grpo

import (
	"fmt"
	"strings"

	"github.com/medbench/medbench/metrics"
)

// RewardFunc scores one completion against its sample's solution. Rewards
// of all functions are summed per completion (R1-V and MedVLM-R1 use no
// weights).
type RewardFunc struct {
	// Name is the function's name in the logs (rewards/<Name>,
	// reward/<Name>/mean); the seed's are accuracy_reward and format_reward.
	Name string
	Fn   func(completion, solution string) float64
}

// builtinRewards are the seed's reward functions (grpo.py lines 64-141),
// implemented in package metrics.
var builtinRewards = map[string]RewardFunc{
	"accuracy": {Name: "accuracy_reward", Fn: metrics.AccuracyReward},
	"format":   {Name: "format_reward", Fn: func(c, _ string) float64 { return metrics.FormatReward(c) }},
}

// DefaultRewardNames are the seed's reward_funcs default.
var DefaultRewardNames = []string{"accuracy", "format"}

// Rewards resolves reward function names (accuracy, format), in order.
func Rewards(names []string) ([]RewardFunc, error) {
	if len(names) == 0 {
		return nil, fmt.Errorf("grpo: no reward functions")
	}
	out := make([]RewardFunc, 0, len(names))
	seen := map[string]bool{}
	for _, n := range names {
		f, ok := builtinRewards[strings.TrimSpace(n)]
		if !ok {
			return nil, fmt.Errorf("grpo: unknown reward function %q (accuracy, format)", n)
		}
		if seen[f.Name] {
			return nil, fmt.Errorf("grpo: reward function %q given twice", n)
		}
		seen[f.Name] = true
		out = append(out, f)
	}
	return out, nil
}

// Score evaluates every function on every completion: perFunc[f][i] and the
// summed reward total[i].
func Score(funcs []RewardFunc, completions, solutions []string) (perFunc [][]float64, total []float64, err error) {
	if len(completions) != len(solutions) {
		return nil, nil, fmt.Errorf("grpo: %d completions but %d solutions", len(completions), len(solutions))
	}
	perFunc = make([][]float64, len(funcs))
	total = make([]float64, len(completions))
	for f, fn := range funcs {
		perFunc[f] = make([]float64, len(completions))
		for i, c := range completions {
			v := fn.Fn(c, solutions[i])
			perFunc[f][i] = v
			total[i] += v
		}
	}
	return perFunc, total, nil
}
