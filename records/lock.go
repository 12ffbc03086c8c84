package records

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// LockFile is the lock a writer holds in its output directory.
const LockFile = ".medbench.lock"

// Lock is an exclusive advisory lock (flock) on an output directory, held
// for the life of a writer so that two processes never append to the same
// record. The kernel drops it when the process dies, so a killed run leaves
// no stale lock; the file itself stays (removing it would race a waiter).
type Lock struct {
	f *os.File
}

// LockDir takes the lock on dir (created if missing) without waiting. When
// another process holds it, the error names the directory and the holder's
// pid as that process wrote it.
func LockDir(dir string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	p := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("records: lock %s: %w", p, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b, _ := os.ReadFile(p)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			holder := "unknown pid"
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil {
				holder = "pid " + strconv.Itoa(pid)
			}
			return nil, fmt.Errorf("records: %s is in use by another medbench process (%s); wait for it to finish or choose another output directory", dir, holder)
		}
		return nil, fmt.Errorf("records: lock %s: %w", p, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &Lock{f: f}, nil
}

// Unlock releases the lock; calling it on a nil or released lock is a no-op.
func (l *Lock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the descriptor releases the flock
	l.f = nil
	if err != nil {
		return fmt.Errorf("records: unlock: %w", err)
	}
	return nil
}
