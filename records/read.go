package records

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/medbench/medbench/internal/utf8bom"
)

// Run is a run record read back from its directory.
type Run struct {
	Dir      string
	Manifest Manifest
	Samples  []ScoredSample
	Summary  *Summary // nil when summary.json is absent (interrupted run)
	// TornTail is true when samples.jsonl ended in an incomplete line, which
	// was ignored (a run killed mid-write).
	TornTail bool
}

// ReadSamples reads samples.jsonl. A final line without a newline that does
// not parse is reported through torn=true and skipped; any other malformed
// line is an error naming the file and line, and so is a sample key
// (prompt/id) recorded twice (two writers mixed into one record), naming
// the key and both lines.
func ReadSamples(path string) (samples []ScoredSample, torn bool, err error) {
	seen := map[string]int{}
	torn, err = ReadJSONL(path, "records", func(b []byte) (s ScoredSample, err error) {
		err = json.Unmarshal(b, &s)
		return s, err
	}, func(line int, s ScoredSample) error {
		if prev, dup := seen[s.Key()]; dup {
			return DuplicateError(path, s.Key(), prev, line)
		}
		seen[s.Key()] = line
		samples = append(samples, s)
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return samples, torn, nil
}

// ReadJSONL reads a JSON Lines file that a writer killed mid-line may have
// left with a torn tail. decode parses each non-blank line (white space and,
// on line 1, a byte-order mark removed); add receives each parsed value with
// its 1-based line number, and its error ends the read as is. A final line
// without its newline that decode rejects is the torn tail: it is skipped
// and torn is true; one that parses is kept, and torn is also true. Any
// other decode failure is an error naming the file and line. Errors the
// reader makes start with errPrefix, the package that owns the file
// ("records", "grpo").
func ReadJSONL[T any](path, errPrefix string, decode func([]byte) (T, error), add func(line int, v T) error) (torn bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("%s: %w", errPrefix, err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	for line := 1; ; line++ {
		b, rerr := r.ReadBytes('\n')
		if len(b) > 0 {
			complete := b[len(b)-1] == '\n'
			trimmed := bytes.TrimSpace(b)
			if line == 1 {
				trimmed = utf8bom.Trim(trimmed)
			}
			if len(trimmed) > 0 {
				v, err := decode(trimmed)
				if err != nil {
					if !complete && errors.Is(rerr, io.EOF) {
						return true, nil
					}
					return false, fmt.Errorf("%s: %s line %d: %w", errPrefix, path, line, err)
				}
				if !complete {
					// A parsable line without its newline: keep it, but report the tail torn.
					torn = true
				}
				if err := add(line, v); err != nil {
					return false, err
				}
			}
		}
		if rerr != nil {
			if errors.Is(rerr, io.EOF) {
				return torn, nil
			}
			return false, fmt.Errorf("%s: %s: %w", errPrefix, path, rerr)
		}
	}
}

// ReadJSON decodes a JSON file into v, naming the file on error.
func ReadJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("records: %w", err)
	}
	if err := json.Unmarshal(utf8bom.Trim(b), v); err != nil {
		return fmt.Errorf("records: %s: %w", path, err)
	}
	return nil
}

// ReadRun reads a run directory: manifest.json and samples.jsonl are
// required; summary.json is optional.
func ReadRun(dir string) (*Run, error) {
	run := &Run{Dir: dir}
	if err := ReadJSON(filepath.Join(dir, ManifestFile), &run.Manifest); err != nil {
		return nil, err
	}
	s, torn, err := ReadSamples(filepath.Join(dir, SamplesFile))
	if err != nil {
		return nil, err
	}
	run.Samples, run.TornTail = s, torn
	sp := filepath.Join(dir, SummaryFile)
	if _, err := os.Stat(sp); err == nil {
		var sum Summary
		if err := ReadJSON(sp, &sum); err != nil {
			return nil, err
		}
		run.Summary = &sum
	}
	return run, nil
}

// DuplicateError is the error of a sample key recorded twice in one file.
func DuplicateError(path, key string, first, again int) error {
	return fmt.Errorf("records: %s line %d: sample %s is already recorded on line %d (two runs wrote to one record?); keep one of the lines or re-run into a fresh directory", path, again, key, first)
}
