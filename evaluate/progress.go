package evaluate

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/jedib0t/go-pretty/v6/progress"

	"github.com/medbench/medbench/internal/termbar"
)

// progressReporter shows samples/s, tokens/s and the ETA: a go-pretty bar on
// a terminal, otherwise a plain log line at most every logEvery (and at the
// end). All methods are nil-safe no-ops when there is no output.
type progressReporter struct {
	mu       sync.Mutex
	out      io.Writer
	total    int
	finished int // samples finished, including resumed ones
	startAt  int // done at start (resumed)
	tokens   int
	start    time.Time
	lastLog  time.Time
	logEvery time.Duration

	pw      progress.Writer
	tracker *progress.Tracker
}

func newProgress(out io.Writer, total, already int) *progressReporter {
	if out == nil {
		return nil
	}
	p := &progressReporter{out: out, total: total, finished: already, startAt: already, start: time.Now(), logEvery: 2 * time.Second}
	if termbar.IsTerminal(out) {
		p.pw, p.tracker = termbar.Start(out, "eval", int64(total), progress.UnitsDefault, " samples/s")
		p.tracker.SetValue(int64(already))
		return p
	}
	if already > 0 {
		fmt.Fprintf(out, "evaluate: resuming: %d/%d samples already done\n", already, total)
	}
	return p
}

func (p *progressReporter) rates() (sps, tps float64, eta time.Duration) {
	el := time.Since(p.start).Seconds()
	if el <= 0 {
		return 0, 0, 0
	}
	n := p.finished - p.startAt
	sps = float64(n) / el
	tps = float64(p.tokens) / el
	if sps > 0 {
		eta = time.Duration(float64(p.total-p.finished) / sps * float64(time.Second)).Round(time.Second)
	}
	return sps, tps, eta
}

func (p *progressReporter) add(samples, tokens int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.finished += samples
	p.tokens += tokens
	sps, tps, eta := p.rates()
	if p.tracker != nil {
		p.tracker.UpdateMessage(fmt.Sprintf("eval %.0f tokens/s", tps))
		p.tracker.Increment(int64(samples))
		return
	}
	if time.Since(p.lastLog) >= p.logEvery || p.finished == p.total {
		p.lastLog = time.Now()
		fmt.Fprintf(p.out, "evaluate: %d/%d samples (%.1f%%), %.2f samples/s, %.1f tokens/s, ETA %s\n",
			p.finished, p.total, 100*float64(p.finished)/float64(max(p.total, 1)), sps, tps, eta)
	}
}

// done marks the run complete.
func (p *progressReporter) done() {
	if p == nil {
		return
	}
	p.mu.Lock()
	sps, tps, _ := p.rates()
	if p.tracker != nil {
		p.tracker.MarkAsDone()
	}
	p.mu.Unlock()
	p.stop()
	fmt.Fprintf(p.out, "evaluate: done: %d samples in %s (%.2f samples/s, %.1f tokens/s)\n",
		p.finished-p.startAt, time.Since(p.start).Round(time.Millisecond), sps, tps)
}

// stop ends the progress bar's rendering (idempotent).
func (p *progressReporter) stop() {
	if p == nil || p.pw == nil {
		return
	}
	p.mu.Lock()
	pw := p.pw
	p.pw = nil
	p.mu.Unlock()
	termbar.Stop(pw)
}
