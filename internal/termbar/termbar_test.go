package termbar

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jedib0t/go-pretty/v6/progress"
)

func TestIsTerminal(t *testing.T) {
	if IsTerminal(&bytes.Buffer{}) {
		t.Error("a buffer is not a terminal")
	}
	f, err := os.CreateTemp(t.TempDir(), "x")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) {
		t.Error("a regular file is not a terminal")
	}
}

// syncBuffer is a bytes.Buffer safe for the renderer's goroutine.
type syncBuffer struct {
	ch chan []byte
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.ch <- append([]byte(nil), p...)
	return len(p), nil
}

func TestStartRendersTheTracker(t *testing.T) {
	out := &syncBuffer{ch: make(chan []byte, 1024)}
	pw, tr := Start(out, "eval", 10, progress.UnitsDefault, " samples/s")
	tr.SetValue(10)
	tr.MarkAsDone()
	time.Sleep(450 * time.Millisecond)
	pw.Stop()
	deadline := time.After(2 * time.Second)
	for !strings.Contains(out.b.String(), "eval") {
		select {
		case p := <-out.ch:
			out.b.Write(p)
		case <-deadline:
			t.Fatalf("no tracker rendered: %q", out.b.String())
		}
	}
}
