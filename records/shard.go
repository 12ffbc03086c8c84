package records

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// SameShard refuses to resume the run in dir under another shard than the
// one it recorded (or a sharded run as an unsharded one, and the reverse).
// A directory without a manifest has nothing to resume and passes.
func SameShard(dir string, s *Shard) error {
	p := filepath.Join(dir, ManifestFile)
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	var old Manifest
	if err := ReadJSON(p, &old); err != nil {
		return err
	}
	a, _ := json.Marshal(old.Shard)
	b, _ := json.Marshal(s)
	if string(a) != string(b) {
		return fmt.Errorf("records: cannot resume %s: manifest field shard differs (recorded %s, now %s)", dir, a, b)
	}
	return nil
}
