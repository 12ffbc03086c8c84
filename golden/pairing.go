package golden

import (
	"errors"
	"strings"
)

// Arms are the arguments that name the two arms of a comparison, as
// `medbench compare` takes them: two runs A and B compared on one Prompt,
// or one Run compared across the two prompts of Prompts ("A,B";
// PromptsSet tells whether it was given at all).
type Arms struct {
	A, B, Prompt string
	Run, Prompts string
	PromptsSet   bool
}

// SetArms sets p's arms from a, refusing a mix of the two forms or an
// incomplete one.
func (p *Pairing) SetArms(a Arms) error {
	switch {
	case a.Run != "" && (a.A != "" || a.B != ""):
		return errors.New("use either --a/--b or --run/--prompts, not both")
	case a.Run != "":
		ps := strings.Split(a.Prompts, ",")
		if len(ps) != 2 || strings.TrimSpace(ps[0]) == "" || strings.TrimSpace(ps[1]) == "" || ps[0] == ps[1] {
			return errors.New("--run needs --prompts A,B with two different prompt names, e.g. simple,complex")
		}
		p.Run, p.PromptA, p.PromptB = a.Run, strings.TrimSpace(ps[0]), strings.TrimSpace(ps[1])
	case a.A != "" && a.B != "":
		if a.PromptsSet {
			return errors.New("--prompts goes with --run; use --prompt with --a/--b")
		}
		p.A, p.B, p.Prompt = a.A, a.B, a.Prompt
	default:
		return errors.New("give --a RUN --b RUN, or --run RUN --prompts A,B")
	}
	return nil
}

// Check refuses settings CompareRuns cannot use: fewer than one bootstrap
// resample, a negative Top, or a level, power or confidence out of range.
func (p *Pairing) Check() error {
	o := p.Options
	if o.Resamples < 1 || p.Top < 0 {
		return errors.New("--resamples must be ≥ 1 and --top ≥ 0")
	}
	if !(o.Alpha > 0 && o.Alpha < 1) || !(o.Power >= 0.5 && o.Power < 1) || !(o.Conf > 0 && o.Conf < 1) {
		return errors.New("need 0 < --alpha < 1, 0.5 ≤ --power < 1, 0 < --conf < 1")
	}
	return nil
}
