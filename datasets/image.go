package datasets

import (
	"fmt"
	"os"
)

// ReadImage returns the bytes of the sample's image j: the embedded bytes
// when the source had them (parquet), else the file at ImagePaths[j].
// Errors name the sample and the path.
func (s Item) ReadImage(j int) ([]byte, error) {
	if j < 0 || j >= len(s.ImagePaths) {
		return nil, fmt.Errorf("datasets: sample %d: no image %d (has %d)", s.Index, j, len(s.ImagePaths))
	}
	if j < len(s.ImageBytes) && s.ImageBytes[j] != nil {
		return s.ImageBytes[j], nil
	}
	b, err := os.ReadFile(s.ImagePaths[j])
	if err != nil {
		return nil, fmt.Errorf("datasets: sample %d: image: %w", s.Index, err)
	}
	return b, nil
}
