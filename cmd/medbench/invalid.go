package main

import (
	"errors"

	"github.com/urfave/cli/v2"

	"github.com/medbench/medbench/datasets"
)

func invalidItemsFlag() cli.Flag {
	return &cli.StringFlag{Name: "invalid-items", Value: datasets.InvalidRefuse, Usage: "records whose answer key can never be scored right (solution letter outside the options, lowercase or contradicting the answer text, empty options; the checks of `dataset validate`): " +
		"refuse (list them, exit 2) or score (score them as the seed would, mark them in samples.jsonl and count them as invalid_items in summary.json, check --summary and the report) `HOW`"}
}

// checkInvalidItems applies --invalid-items to the selected samples with
// datasets.CheckInvalid.
func checkInvalidItems(c *cli.Context, cmd, path string, samples []datasets.Item, mm datasets.ModalityMap) (map[int]string, error) {
	byIdx, err := datasets.CheckInvalid(cmd, path, c.String("invalid-items"), samples, mm)
	return byIdx, datasetErr(cmd, err)
}

// datasetErr maps an error of a datasets function to the exit code: a
// *datasets.UsageError is a usage error prefixed with the command, anything
// else an input error as it is (both exit 2).
func datasetErr(cmd string, err error) error {
	var ue *datasets.UsageError
	if errors.As(err, &ue) {
		return usageErr("%s: %v", cmd, ue)
	}
	return inputErr(err)
}
