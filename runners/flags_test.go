package runners

import (
	"context"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

func TestSamplingFromFlags(t *testing.T) {
	flags := WithDefault(SamplingFlags(), "seed", uint64(1))
	for _, tc := range []struct {
		args []string
		want Sampling
		err  string
	}{
		{[]string{"--preset", "medvlm-r1"}, Sampling{Temperature: 1, TopP: 1, RepetitionPenalty: 1, MaxNewTokens: 512, Seed: 1}, ""},
		{[]string{"--preset", "medvlm-r1", "--max-new-tokens", "64", "--seed", "9"}, Sampling{Temperature: 1, TopP: 1, RepetitionPenalty: 1, MaxNewTokens: 64, Seed: 9}, ""},
		{[]string{"--do-sample", "--temperature", "0.7", "--top-k", "50", "--top-p", "0.9", "--repetition-penalty", "1.1", "--min-new-tokens", "2"},
			Sampling{DoSample: true, Temperature: 0.7, TopK: 50, TopP: 0.9, RepetitionPenalty: 1.1, MaxNewTokens: 512, MinNewTokens: 2, Seed: 1}, ""},
		{[]string{"--preset", "nope"}, Sampling{}, `--preset "nope"`},
	} {
		var got Sampling
		app := &cli.App{Name: "t", Flags: flags, ExitErrHandler: func(*cli.Context, error) {}, Action: func(c *cli.Context) error {
			var err error
			got, err = SamplingFromFlags(c)
			return err
		}}
		err := app.RunContext(context.Background(), append([]string{"t"}, tc.args...))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%v: error %v, want %q", tc.args, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%v: got %+v, %v; want %+v", tc.args, got, err, tc.want)
		}
	}
	// A command without the sampling flags decodes with the preset.
	app := &cli.App{Name: "t", Action: func(c *cli.Context) error {
		if got, err := SamplingFromFlags(c); err != nil || got != SeedPreset() {
			t.Errorf("no flags: %+v, %v", got, err)
		}
		return nil
	}}
	if err := app.Run([]string{"t"}); err != nil {
		t.Fatal(err)
	}
}
