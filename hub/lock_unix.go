//go:build unix

package hub

import (
	"fmt"
	"syscall"
)

// lockFile takes an exclusive flock on path (created), the same lock files
// huggingface_hub's filelock takes, so a Python download and a medbench
// download of the same blob wait for each other.
func lockFile(path string) (unlock func(), err error) {
	f, err := createLockFile(path)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("hub: lock %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
