package replay

import (
	"context"
	"errors"

	"github.com/urfave/cli/v2"

	"github.com/medbench/medbench/runners"
)

// Driver is the replay runner as the command line offers it (--runner
// replay): --outputs names the recorded outputs to re-score.
func Driver() runners.Driver {
	return runners.Driver{
		Name:  "replay",
		Usage: "re-score recorded outputs, no model",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "outputs", Usage: "replay: recorded outputs `FILE[,FILE]`: samples.jsonl of an earlier run, or the seed's output JSON; prefix PROMPT= (e.g. complex=out.json) to bind a seed file to one prompt"},
			&cli.DurationFlag{Name: "replay-delay", Hidden: true, Usage: "replay: wait this long per sample (tests of interruption)"},
		},
		Exclusive: []string{"outputs"},
		Open: func(_ context.Context, o runners.Options) (runners.Runner, error) {
			outputs := o.Flags.StringSlice("outputs")
			if len(outputs) == 0 {
				return nil, errors.New("--runner replay needs --outputs FILE[,FILE] (seed-format output JSON or samples.jsonl)")
			}
			r, err := New(outputs)
			if err != nil {
				return nil, err
			}
			if d := o.Flags.Duration("replay-delay"); d > 0 {
				r.SetDelay(d)
			}
			return r, nil
		},
	}
}
