package grpo

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/medbench/medbench/internal/filecopy"
)

// Save writes a complete model directory to dir: the original files (with
// their layout: dir or dir/onnx) with every ONNX initializer replaced by
// the trained value. ONNX Runtime runs it exactly as the input directory.
func (e *Engine) Save(dir string) error {
	if e.closed {
		return errClosed
	}
	if err := copyTree(e.cfg.ModelDir, dir, func(rel string) bool {
		for _, s := range sessions {
			if filepath.Base(rel) == s.file && filepath.Join(e.cfg.ModelDir, rel) == filepath.Join(e.onnxDir, s.file) {
				return false
			}
		}
		return true
	}); err != nil {
		return err
	}
	rel, err := filepath.Rel(e.cfg.ModelDir, e.onnxDir)
	if err != nil {
		return fmt.Errorf("grpo: %w", err)
	}
	for _, s := range sessions {
		src := filepath.Join(e.onnxDir, s.file)
		m, err := readONNX(src) // pristine graph: keeps the KV cache
		if err != nil {
			return err
		}
		if err := m.ContextToONNX(e.ctx.In(s.scope)); err != nil {
			return fmt.Errorf("grpo: %s: write weights: %w", src, err)
		}
		dst := filepath.Join(dir, rel, s.file)
		if err := m.SaveToFile(dst); err != nil {
			return fmt.Errorf("grpo: %s: %w", dst, err)
		}
	}
	return nil
}

// copyTree copies regular files under src to dst for which keep is true. A
// symbolic link to a regular file is copied as that file (a Hugging Face
// cache snapshot is made of links into its blobs/ folder).
func copyTree(src, dst string, keep func(rel string) bool) error {
	return filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("grpo: %w", err)
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return fmt.Errorf("grpo: %w", err)
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		regular := d.Type().IsRegular()
		if d.Type()&os.ModeSymlink != 0 {
			st, err := os.Stat(path)
			regular = err == nil && st.Mode().IsRegular()
		}
		if !regular || !keep(rel) {
			return nil
		}
		return copyFile(path, target)
	})
}

// copyFile copies the file src to dst.
func copyFile(src, dst string) error {
	if err := filecopy.Copy(src, dst); err != nil {
		return fmt.Errorf("grpo: %w", err)
	}
	return nil
}

// trainState is checkpoints/step-N/trainer_state.json.
type trainState struct {
	Step     int    `json:"step"`
	MaxSteps int    `json:"max_steps"`
	Seed     uint64 `json:"seed"`
}

const (
	optimizerFile = "optimizer.gob"
	stateFile     = "trainer_state.json"
)

// saveCheckpoint writes a checkpoint directory: the model (Save), the
// optimizer state and trainer_state.json.
func saveCheckpoint(e *Engine, dir string, st trainState) error {
	if err := e.Save(dir); err != nil {
		return err
	}
	if err := e.SaveOptimizer(filepath.Join(dir, optimizerFile)); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(st, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, stateFile), b, 0o644); err != nil {
		return fmt.Errorf("grpo: %w", err)
	}
	return nil
}

// lastCheckpoint finds Out/checkpoints/step-N with the largest N.
func lastCheckpoint(out string) (step int, dir string, ok bool, err error) {
	ents, err := os.ReadDir(filepath.Join(out, "checkpoints"))
	if os.IsNotExist(err) {
		return 0, "", false, nil
	}
	if err != nil {
		return 0, "", false, fmt.Errorf("grpo: %w", err)
	}
	for _, e := range ents {
		var n int
		if _, err := fmt.Sscanf(e.Name(), "step-%d", &n); err != nil || !e.IsDir() {
			continue
		}
		d := filepath.Join(out, "checkpoints", e.Name())
		if _, err := os.Stat(filepath.Join(d, stateFile)); err != nil {
			continue // incomplete
		}
		if n > step {
			step, dir, ok = n, d, true
		}
	}
	return step, dir, ok, nil
}

// optState is the serialized AdamW state. The moments are stored as
// parallel slices in parameter-name order, so that the same state always
// encodes to the same bytes (gob writes a map in Go's randomized iteration
// order). M and V are the maps of checkpoints written before that change,
// still read.
type optState struct {
	Step   int
	M, V   map[string][]float64
	Names  []string
	Ms, Vs [][]float64
}

// SaveOptimizer writes the AdamW state (gob), byte-reproducibly.
func (e *Engine) SaveOptimizer(path string) error {
	if e.closed {
		return errClosed
	}
	return saveOptState(path, e.opt)
}

// saveOptState writes opt as optState, names sorted.
func saveOptState(path string, opt *AdamW) error {
	st := optState{Step: opt.Step}
	for name := range opt.M {
		st.Names = append(st.Names, name)
	}
	sort.Strings(st.Names)
	for _, name := range st.Names {
		st.Ms = append(st.Ms, opt.M[name])
		st.Vs = append(st.Vs, opt.V[name])
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(st); err != nil {
		return fmt.Errorf("grpo: %s: %w", path, err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("grpo: %w", err)
	}
	return nil
}

// LoadOptimizer restores the AdamW state written by SaveOptimizer.
func (e *Engine) LoadOptimizer(path string) error {
	if e.closed {
		return errClosed
	}
	st, err := loadOptState(path)
	if err != nil {
		return err
	}
	for _, p := range e.params {
		if m, ok := st.M[p.name]; ok && len(m) != len(e.paramValues(p)) {
			return fmt.Errorf("grpo: %s: optimizer state of %s has %d values, model has %d", path, p.name, len(m), len(e.paramValues(p)))
		}
	}
	e.opt.Step, e.opt.M, e.opt.V = st.Step, st.M, st.V
	return nil
}

// loadOptState reads either encoding of optState into its maps.
func loadOptState(path string) (optState, error) {
	var st optState
	f, err := os.Open(path)
	if err != nil {
		return st, fmt.Errorf("grpo: %w", err)
	}
	defer f.Close()
	if err := gob.NewDecoder(f).Decode(&st); err != nil {
		return st, fmt.Errorf("grpo: %s: %w", path, err)
	}
	if len(st.Names) > 0 {
		if len(st.Ms) != len(st.Names) || len(st.Vs) != len(st.Names) {
			return st, fmt.Errorf("grpo: %s: %d parameter names but %d/%d moment vectors", path, len(st.Names), len(st.Ms), len(st.Vs))
		}
		st.M, st.V = make(map[string][]float64, len(st.Names)), make(map[string][]float64, len(st.Names))
		for i, n := range st.Names {
			st.M[n], st.V[n] = st.Ms[i], st.Vs[i]
		}
	}
	if st.M == nil {
		st.M, st.V = map[string][]float64{}, map[string][]float64{}
	}
	return st, nil
}
