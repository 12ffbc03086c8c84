package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/medbench/medbench/records"
)

// checkImagesRoot refuses an --images root that is not a readable folder:
// without it every sample would fail one by one, and a run of failures is
// no evaluation. An empty root (the dataset file's folder) is accepted.
func checkImagesRoot(cmd, flag, root string) error {
	if root == "" {
		return nil
	}
	fi, err := os.Stat(root)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return usageErr("%s: --%s %s: no such folder (the images root the dataset's image paths are joined to)", cmd, flag, root)
	case err != nil:
		return inputErr(fmt.Errorf("%s: --%s %s: %w", cmd, flag, root, err))
	case !fi.IsDir():
		return usageErr("%s: --%s %s: not a folder (the images root the dataset's image paths are joined to)", cmd, flag, root)
	}
	f, err := os.Open(root)
	if err != nil {
		return inputErr(fmt.Errorf("%s: --%s %s: %w", cmd, flag, root, err))
	}
	f.Close()
	return nil
}

// errorRateExceeded returns the failure to report when more than maxRate of
// the run's samples failed: one line naming the rate, the limit and the
// first errors (at most three, each cut to a readable length). It returns
// nil when the rate is within the limit. samples.jsonl in dir supplies the
// errors.
func errorRateExceeded(dir string, failed, total int, maxRate float64) error {
	if total == 0 || float64(failed) <= maxRate*float64(total) {
		return nil
	}
	var first []string
	samples, _, err := records.ReadSamples(filepath.Join(dir, records.SamplesFile))
	if err == nil {
		for _, s := range samples {
			if s.Error == "" {
				continue
			}
			msg := s.Error
			if len(msg) > 160 {
				msg = msg[:160] + "…"
			}
			first = append(first, fmt.Sprintf("%s: %s", s.Key(), msg))
			if len(first) == 3 {
				break
			}
		}
	}
	return failErr(fmt.Errorf("eval: %d of %d samples failed (%.1f%%, above --max-error-rate %.1f%%); the record in %s is complete; first errors: %s",
		failed, total, 100*float64(failed)/float64(total), 100*maxRate, dir, strings.Join(first, "; ")))
}
