package termbar

import (
	"bytes"
	"os"
	"strings"
	"sync"
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

// lockedBuffer is a bytes.Buffer safe for the renderer's goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func TestStopWaitsForTheLastRender(t *testing.T) {
	out := &lockedBuffer{}
	pw, tr := Start(out, "eval", 10, progress.UnitsDefault, "")
	tr.SetValue(10)
	tr.MarkAsDone()
	time.Sleep(250 * time.Millisecond)
	Stop(pw)
	if pw.IsRenderInProgress() {
		t.Fatal("Stop returned while the bar was still rendering")
	}
	out.mu.Lock()
	n := out.b.Len()
	out.mu.Unlock()
	time.Sleep(300 * time.Millisecond)
	out.mu.Lock()
	defer out.mu.Unlock()
	if out.b.Len() != n {
		t.Errorf("the bar wrote %d more bytes after Stop", out.b.Len()-n)
	}
	if !strings.Contains(out.b.String(), "eval") {
		t.Errorf("no tracker rendered: %q", out.b.String())
	}
}
