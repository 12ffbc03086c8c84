package interrupt

import (
	"bytes"
	"context"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestTwoStage: the first signal closes stop and prints ack, the second
// cancels ctx and prints abort; release cancels ctx.
func TestTwoStage(t *testing.T) {
	var w lockedBuffer
	ctx, stop, release := TwoStage(context.Background(), &w, "ack", "abort")
	select {
	case <-stop:
		t.Fatal("stop closed before any signal")
	default:
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-stop:
	case <-time.After(5 * time.Second):
		t.Fatal("first signal did not close stop")
	}
	if ctx.Err() != nil {
		t.Fatal("first signal cancelled ctx")
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("second signal did not cancel ctx")
	}
	release()
	if got := w.String(); got != "medbench: ack\nmedbench: abort\n" {
		t.Errorf("output %q", got)
	}
}

// TestRelease: release without a signal cancels ctx and leaves stop open.
func TestRelease(t *testing.T) {
	var w lockedBuffer
	ctx, stop, release := TwoStage(context.Background(), &w, "ack", "abort")
	release()
	if ctx.Err() == nil {
		t.Error("release did not cancel ctx")
	}
	select {
	case <-stop:
		t.Error("release closed stop")
	default:
	}
	if strings.TrimSpace(w.String()) != "" {
		t.Errorf("output %q", w.String())
	}
}
