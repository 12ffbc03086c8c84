package hub

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/jedib0t/go-pretty/v6/progress"

	"github.com/medbench/medbench/internal/termbar"
	"github.com/medbench/medbench/internal/units"
)

// bar reports one file's transfer: a go-pretty bar when Progress is a
// terminal, otherwise a plain line at the start, at most every 2 s, and at
// the end (as evaluate's progress does). A nil bar is a no-op.
type bar struct {
	mu      sync.Mutex
	out     io.Writer
	name    string
	total   int64
	n       int64
	start   time.Time
	lastLog time.Time
	pw      progress.Writer
	tracker *progress.Tracker
}

func (c *Client) logf(format string, a ...any) {
	if c.Progress != nil {
		fmt.Fprint(c.Progress, c.redact(fmt.Sprintf(format, a...)))
	}
}

func (c *Client) newBar(name string, total int64) *bar {
	if c.Progress == nil {
		return nil
	}
	b := &bar{out: c.Progress, name: name, total: total, start: time.Now()}
	if termbar.IsTerminal(c.Progress) {
		b.pw, b.tracker = termbar.Start(c.Progress, name, total, progress.UnitsBytes, "")
		return b
	}
	fmt.Fprintf(b.out, "hub: downloading %s (%s)\n", name, units.Bytes(total))
	b.lastLog = time.Now()
	return b
}

// Write counts transferred bytes (the bar is an io.Writer for TeeReader).
func (b *bar) Write(p []byte) (int, error) {
	if b == nil {
		return len(p), nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n += int64(len(p))
	b.report()
	return len(p), nil
}

// set moves the count to n (a resume starts past 0).
func (b *bar) set(n int64) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n = n
	if b.tracker != nil {
		b.tracker.SetValue(n)
	}
}

func (b *bar) report() {
	if b.tracker != nil {
		b.tracker.SetValue(b.n)
		return
	}
	if time.Since(b.lastLog) >= 2*time.Second {
		b.lastLog = time.Now()
		el := time.Since(b.start).Seconds()
		fmt.Fprintf(b.out, "hub: %s: %s of %s (%.1f%%), %s/s\n", b.name, units.Bytes(b.n), units.Bytes(b.total),
			100*float64(b.n)/float64(max(b.total, 1)), units.Bytes(int64(float64(b.n)/max(el, 1e-9))))
	}
}

func (b *bar) finish() {
	if b == nil {
		return
	}
	b.mu.Lock()
	pw := b.pw
	b.pw = nil
	if b.tracker != nil {
		b.tracker.MarkAsDone()
	}
	n := b.n
	b.mu.Unlock()
	if pw != nil {
		termbar.Stop(pw)
	}
	fmt.Fprintf(b.out, "hub: %s: %s in %s\n", b.name, units.Bytes(n), time.Since(b.start).Round(time.Millisecond))
}
