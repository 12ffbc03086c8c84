// Package termbar starts the terminal progress bar medbench shows during long
// operations (evaluation, downloads, image checks) and tells whether an
// output is a terminal; where it is not, callers print plain log lines.
package termbar

import (
	"io"
	"os"
	"time"

	"github.com/jedib0t/go-pretty/v6/progress"
)

// IsTerminal reports whether w is a character device (a terminal; /dev/null
// also qualifies, harmlessly).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Start renders one tracker on w: value, percentage, speed (with
// speedSuffix, "" for go-pretty's default) and ETA, refreshed every 200 ms.
// The caller updates the tracker and stops the writer when done.
func Start(w io.Writer, message string, total int64, units progress.Units, speedSuffix string) (progress.Writer, *progress.Tracker) {
	pw := progress.NewWriter()
	pw.SetOutputWriter(w)
	pw.SetAutoStop(false)
	pw.SetTrackerLength(30)
	pw.SetUpdateFrequency(200 * time.Millisecond)
	pw.SetMessageLength(40)
	pw.SetStyle(progress.StyleDefault)
	pw.Style().Visibility.ETA = true
	pw.Style().Visibility.Speed = true
	pw.Style().Visibility.Value = true
	pw.Style().Visibility.Percentage = true
	if speedSuffix != "" {
		pw.Style().Options.SpeedSuffix = speedSuffix
	}
	t := &progress.Tracker{Message: message, Total: total, Units: units}
	pw.AppendTracker(t)
	go pw.Render()
	return pw, t
}

// Stop stops pw and waits until its last render has finished, so that
// nothing the caller prints next interleaves with the bar.
func Stop(pw progress.Writer) {
	pw.Stop()
	for pw.IsRenderInProgress() {
		time.Sleep(10 * time.Millisecond)
	}
}
