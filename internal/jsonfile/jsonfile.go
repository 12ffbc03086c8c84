// Package jsonfile writes a value as an indented JSON file.
package jsonfile

import (
	"encoding/json"
	"fmt"
	"os"
)

// Write writes v to path as JSON indented by two spaces, with a final
// newline, mode 0644. A value that cannot be encoded is an error naming
// path; a write error is os.WriteFile's (which names path too).
func Write(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
