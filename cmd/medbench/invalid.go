package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/medbench/medbench/datasets"
)

// Values of --invalid-items.
const (
	invalidRefuse = "refuse"
	invalidScore  = "score"
)

// maxListedProblems caps the problems an eval or train refusal lists.
const maxListedProblems = 20

func invalidItemsFlag() cli.Flag {
	return &cli.StringFlag{Name: "invalid-items", Value: invalidRefuse, Usage: "records whose answer key can never be scored right (solution letter outside the options, lowercase or contradicting the answer text, empty options; the checks of `dataset validate`): " +
		"refuse (list them, exit 2) or score (score them as the seed would, mark them in samples.jsonl and count them as invalid_items in summary.json, check --summary and the report) `HOW`"}
}

// checkInvalidItems runs the record checks of `dataset validate` on the
// selected samples. Under --invalid-items refuse any problem is an input
// error listing them, one line per problem naming the file and record;
// under score it returns the problems by record index.
func checkInvalidItems(c *cli.Context, cmd, path string, samples []datasets.Item, mm datasets.ModalityMap) (map[int]string, error) {
	mode := c.String("invalid-items")
	if mode != invalidRefuse && mode != invalidScore {
		return nil, usageErr("%s: --invalid-items %q: want %s or %s", cmd, mode, invalidRefuse, invalidScore)
	}
	probs := datasets.CheckSamples(samples, mm)
	if len(probs) == 0 {
		return nil, nil
	}
	byIdx := datasets.InvalidByIndex(probs)
	if mode == invalidRefuse {
		return nil, inputErr(fmt.Errorf("%s: %s: %d record(s) have answer-key problems and could never be scored right; fix them or pass --invalid-items score to score and count them:\n%s",
			cmd, path, len(byIdx), datasets.ProblemLines(path, probs, maxListedProblems)))
	}
	return byIdx, nil
}
