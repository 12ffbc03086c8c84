package main

import (
	"fmt"

	"github.com/medbench/medbench/datasets"
	"github.com/medbench/medbench/evaluate"
)

// checkImagesRoot refuses an --images root that is not a readable folder
// (datasets.CheckImagesRoot). An empty root is accepted.
func checkImagesRoot(cmd, flag, root string) error {
	if err := datasets.CheckImagesRoot(root); err != nil {
		return inputErr(fmt.Errorf("%s: --%s %s: %w", cmd, flag, root, err))
	}
	return nil
}

// errorRateExceeded fails eval (exit 1) when more than maxRate of the run's
// samples failed (evaluate.ErrorRateExceeded).
func errorRateExceeded(dir string, failed, total int, maxRate float64) error {
	if err := evaluate.ErrorRateExceeded(dir, failed, total, maxRate); err != nil {
		return failErr(fmt.Errorf("eval: %w", err))
	}
	return nil
}
