package records

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/medbench/medbench/answer"
	"github.com/medbench/medbench/internal/utf8bom"
)

// Writer appends scored samples to a run directory's samples.jsonl and, at
// the end, writes summary.json, the seed-format files and samples.parquet.
// It is safe for concurrent use.
type Writer struct {
	dir string

	mu       sync.Mutex
	manifest Manifest
	f        *os.File
	done     map[string]bool
	samples  []ScoredSample
	closed   bool
	lock     *Lock
}

// OpenWriter opens dir for a run described by m. It first takes an
// exclusive lock on dir (LockDir), held until Close or Finish, so that a
// second writer is refused instead of interleaving samples. Without resume,
// dir must not already hold a run (manifest.json or samples.jsonl): the
// writer creates it and writes manifest.json. With resume, an existing run
// is continued: its manifest must be compatible with m (every ResultFields
// setting equal; otherwise the error names the differing key and both
// values), its samples.jsonl is read, a torn last line (a run killed
// mid-write) is truncated away, and the keys already done are available
// through Done; transiently failed samples (Sample.Transient) are set
// aside to be retried (see RetriedFile). The recorded manifest is kept as it is, only the resume time
// is appended: it describes the samples already recorded, which were
// produced under it. Resuming a directory without a run starts a fresh one.
func OpenWriter(dir string, m Manifest, resume bool) (w *Writer, err error) {
	lock, err := LockDir(dir)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			lock.Unlock()
		}
	}()
	mp := filepath.Join(dir, ManifestFile)
	sp := filepath.Join(dir, SamplesFile)
	_, mErr := os.Stat(mp)
	_, sErr := os.Stat(sp)
	exists := mErr == nil || sErr == nil
	if exists && !resume {
		return nil, fmt.Errorf("records: %s already holds a run; pass --resume to continue it or choose another output directory", dir)
	}
	if m.SchemaVersion == 0 {
		m.SchemaVersion = SchemaVersion
	}
	w = &Writer{dir: dir, done: map[string]bool{}, lock: lock}
	if exists {
		var old Manifest
		if err := ReadJSON(mp, &old); err != nil {
			return nil, err
		}
		if err := Compatible(old, m); err != nil {
			return nil, fmt.Errorf("records: cannot resume %s: %w", dir, err)
		}
		m = old
		m.Resumed = append(append([]time.Time(nil), old.Resumed...), time.Now().UTC())
		m.Finished = time.Time{}
		samples, err := recoverSamples(sp)
		if err != nil {
			return nil, err
		}
		if samples, err = setAsideFailed(dir, samples); err != nil {
			return nil, err
		}
		for _, s := range samples {
			w.done[s.Key()] = true
		}
		w.samples = samples
	} else {
		if m.Started.IsZero() {
			m.Started = time.Now().UTC()
		}
	}
	// An unfinished run has no summary: remove a stale one from before resume.
	if err := os.Remove(filepath.Join(dir, SummaryFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("records: %w", err)
	}
	w.manifest = m
	if err := writeJSONAtomic(mp, m); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(sp, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	w.f = f
	return w, nil
}

// RetriedFile keeps the failed samples that a resume set aside to retry.
const RetriedFile = "retried.jsonl"

// setAsideFailed prepares a resume to retry transiently failed samples
// (Transient set: a request that failed after its retries): they are appended to
// retried.jsonl (kept for the record, fsynced first) and samples.jsonl is
// rewritten atomically without them, so that each is generated again and
// recorded once. It returns the samples kept.
func setAsideFailed(dir string, samples []ScoredSample) ([]ScoredSample, error) {
	var kept []ScoredSample
	var failed bytes.Buffer
	var all bytes.Buffer
	enc, encAll := json.NewEncoder(&failed), json.NewEncoder(&all)
	enc.SetEscapeHTML(false)
	encAll.SetEscapeHTML(false)
	for _, s := range samples {
		if s.Error != "" && s.Transient {
			if err := enc.Encode(s); err != nil {
				return nil, fmt.Errorf("records: sample %s: %w", s.Key(), err)
			}
			continue
		}
		if err := encAll.Encode(s); err != nil {
			return nil, fmt.Errorf("records: sample %s: %w", s.Key(), err)
		}
		kept = append(kept, s)
	}
	if failed.Len() == 0 {
		return samples, nil
	}
	rp := filepath.Join(dir, RetriedFile)
	f, err := os.OpenFile(rp, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	_, werr := f.Write(failed.Bytes())
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, fmt.Errorf("records: %s: %w", rp, werr)
	}
	if err := writeFileAtomic(filepath.Join(dir, SamplesFile), all.Bytes()); err != nil {
		return nil, err
	}
	return kept, nil
}

// recoverSamples reads samples.jsonl for a resume. It truncates an
// incomplete last line that does not parse, terminates a complete-JSON last
// line that lacks its newline, and rejects malformed earlier lines and
// duplicate keys with an error naming the file and line.
func recoverSamples(path string) ([]ScoredSample, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	var samples []ScoredSample
	seen := map[string]int{}
	off := utf8bom.Len(b) // a leading BOM is skipped, offsets stay the file's
	for line := 1; off < len(b); line++ {
		end := bytes.IndexByte(b[off:], '\n')
		complete := end >= 0
		if !complete {
			end = len(b) - off
		}
		raw := bytes.TrimSpace(b[off : off+end])
		if len(raw) > 0 {
			var s ScoredSample
			if err := json.Unmarshal(raw, &s); err != nil {
				if !complete {
					// Torn tail: cut it off.
					if err := os.Truncate(path, int64(off)); err != nil {
						return nil, fmt.Errorf("records: truncate torn tail of %s: %w", path, err)
					}
					return samples, nil
				}
				return nil, fmt.Errorf("records: %s line %d: %w", path, line, err)
			}
			if prev, dup := seen[s.Key()]; dup {
				return nil, DuplicateError(path, s.Key(), prev, line)
			}
			seen[s.Key()] = line
			samples = append(samples, s)
			if !complete {
				f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
				if err != nil {
					return nil, fmt.Errorf("records: %w", err)
				}
				_, werr := f.Write([]byte{'\n'})
				if cerr := f.Close(); werr == nil {
					werr = cerr
				}
				if werr != nil {
					return nil, fmt.Errorf("records: %s: %w", path, werr)
				}
			}
		}
		if !complete {
			break
		}
		off += end + 1
	}
	return samples, nil
}

// Dir is the run directory.
func (w *Writer) Dir() string { return w.dir }

// Manifest returns the manifest as written (Started preserved on resume).
func (w *Writer) Manifest() Manifest {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.manifest
}

// Done reports whether the sample with this key (Sample.Key) is recorded.
func (w *Writer) Done(key string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.done[key]
}

// Samples returns a copy of all recorded samples: those found on resume,
// then those appended, in file order.
func (w *Writer) Samples() []ScoredSample {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]ScoredSample(nil), w.samples...)
}

// Append writes a batch of samples as JSON lines in one write, then flushes
// them to stable storage (fsync). A key already recorded is an error and
// nothing of the batch is written.
func (w *Writer) Append(batch []ScoredSample) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return errors.New("records: append to a closed writer")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	inBatch := map[string]bool{}
	for _, s := range batch {
		k := s.Key()
		if w.done[k] || inBatch[k] {
			return fmt.Errorf("records: sample %s already recorded in %s", k, filepath.Join(w.dir, SamplesFile))
		}
		inBatch[k] = true
		if err := enc.Encode(s); err != nil {
			return fmt.Errorf("records: sample %s: %w", k, err)
		}
	}
	if _, err := w.f.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("records: %w", err)
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("records: %w", err)
	}
	for k := range inBatch {
		w.done[k] = true
	}
	w.samples = append(w.samples, batch...)
	return nil
}

// SeedFormats asks Writer.Finish for the seed-format files and gives the
// answer format of each prompt's template by prompt name (a prompt missing
// from it is tagged); nil asks for none.
type SeedFormats map[string]answer.Format

// Finish completes the run: it writes summary.json, the seed-format files
// (one per modality × prompt, see SeedFileName) when seedFiles is not nil,
// samples.parquet, and manifest.json with its finished time, then closes
// the writer.
func (w *Writer) Finish(summary Summary, seedFiles SeedFormats) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return errors.New("records: finish on a closed writer")
	}
	defer w.lock.Unlock()
	if err := w.f.Close(); err != nil {
		w.closed = true
		return fmt.Errorf("records: %w", err)
	}
	w.closed = true
	if summary.SchemaVersion == 0 {
		summary.SchemaVersion = SchemaVersion
	}
	if summary.Created.IsZero() {
		summary.Created = time.Now().UTC()
	}
	if seedFiles != nil {
		groups := map[[2]string][]ScoredSample{}
		for _, s := range w.samples {
			k := [2]string{s.Modality, s.Prompt}
			groups[k] = append(groups[k], s)
		}
		keys := make([][2]string, 0, len(groups))
		for k := range groups {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			return keys[i][0] < keys[j][0] || keys[i][0] == keys[j][0] && keys[i][1] < keys[j][1]
		})
		for _, k := range keys {
			if err := WriteSeedFile(filepath.Join(w.dir, SeedFileName(k[0], k[1])), groups[k], seedFiles[k[1]]); err != nil {
				return err
			}
		}
	}
	if err := WriteParquet(filepath.Join(w.dir, ParquetFile), w.samples); err != nil {
		return err
	}
	if err := writeJSONAtomic(filepath.Join(w.dir, SummaryFile), summary); err != nil {
		return err
	}
	w.manifest.Finished = time.Now().UTC()
	return writeJSONAtomic(filepath.Join(w.dir, ManifestFile), w.manifest)
}

// Close closes samples.jsonl without finishing the run (an interrupted run,
// which --resume continues). Closing a finished writer is a no-op.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	err := w.f.Close()
	if uerr := w.lock.Unlock(); err == nil {
		err = uerr
	}
	if err != nil {
		return fmt.Errorf("records: %w", err)
	}
	return nil
}

// WriteJSON writes v as indented JSON to path atomically (temp file, fsync,
// rename).
func WriteJSON(path string, v any) error { return writeJSONAtomic(path, v) }

func writeJSONAtomic(path string, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("records: %s: %w", path, err)
	}
	return writeFileAtomic(path, buf.Bytes())
}

func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("records: %w", err)
	}
	name := tmp.Name()
	_, werr := tmp.Write(data)
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(name, 0o644)
	}
	if werr == nil {
		werr = os.Rename(name, path)
	}
	if werr != nil {
		_ = os.Remove(name)
		return fmt.Errorf("records: write %s: %w", path, werr)
	}
	return nil
}
