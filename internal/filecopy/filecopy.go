// Package filecopy copies one file's bytes to a new file.
package filecopy

import (
	"fmt"
	"io"
	"os"
)

// Copy writes src's bytes to dst (created or truncated). Open and create
// errors are the *fs.PathError of the file at fault; a failed transfer is
// "copy SRC: …".
func Copy(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return out.Close()
}
