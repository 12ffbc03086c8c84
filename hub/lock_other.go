//go:build !unix

package hub

import (
	"fmt"
	"os"
	"path/filepath"
)

// lockFile creates the lock file but cannot lock it on this system:
// concurrent downloads of one blob or imports of one checkpoint are not
// serialized here.
func lockFile(path string) (unlock func(), err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("hub: lock: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("hub: lock: %w", err)
	}
	return func() { f.Close() }, nil
}
