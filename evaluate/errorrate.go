package evaluate

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/medbench/medbench/records"
)

// ErrorRateExceeded returns the failure to report when more than maxRate of
// a run's samples failed: one line naming the rate, the limit (eval's
// --max-error-rate) and the first errors (at most three, each cut to a
// readable length), read from the run record in dir. It returns nil when
// the rate is within the limit.
func ErrorRateExceeded(dir string, failed, total int, maxRate float64) error {
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
	return fmt.Errorf("%d of %d samples failed (%.1f%%, above --max-error-rate %.1f%%); the record in %s is complete; first errors: %s",
		failed, total, 100*float64(failed)/float64(total), 100*maxRate, dir, strings.Join(first, "; "))
}
