package grpo

import (
	"bytes"
	"context"
	"encoding/gob"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/medbench/medbench/datasets"
	"github.com/medbench/medbench/records"
)

// fakeModel is a folder that hashes like a model but that the engine
// cannot open: enough for the checks Train makes before loading it.
func fakeModel(t *testing.T, content string) string {
	dir := filepath.Join(t.TempDir(), "model")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "weights.bin"), []byte(content), 0o644)
	return dir
}

// resumeMutations changes each result setting of baseTrainConfig; the test
// fails when resultSettings gains a key without a case here.
var resumeMutations = map[string]func(t *testing.T, c *Config){
	"model_sha256": func(t *testing.T, c *Config) { c.ModelDir = fakeModel(t, "other weights") },
	"data_sha256": func(t *testing.T, c *Config) {
		c.Samples = append([]datasets.Item(nil), c.Samples...)
		c.Samples[0].Record.Question += " (edited)"
	},
	"template": func(t *testing.T, c *Config) { c.Template, _ = datasets.BuiltinTemplate("complex") },
	"template_text": func(t *testing.T, c *Config) {
		c.Template = datasets.Template{Name: c.Template.Name, Text: c.Template.Text + " "}
	},
	"num_generations":             func(t *testing.T, c *Config) { c.NumGenerations = 4 },
	"prompts_per_step":            func(t *testing.T, c *Config) { c.PromptsPerStep = 4 },
	"gradient_accumulation_steps": func(t *testing.T, c *Config) { c.GradAccum = 1 },
	"epochs":                      func(t *testing.T, c *Config) { c.Epochs = 3 },
	"max_steps":                   func(t *testing.T, c *Config) { c.MaxSteps = 3 },
	"learning_rate":               func(t *testing.T, c *Config) { c.LR = 2e-3 },
	"warmup_steps":                func(t *testing.T, c *Config) { c.WarmupSteps = 1 },
	"lr_scheduler":                func(t *testing.T, c *Config) { c.LRScheduler = "cosine" },
	"beta":                        func(t *testing.T, c *Config) { c.Beta = 0.1 },
	"weight_decay":                func(t *testing.T, c *Config) { c.WeightDecay = 0.1 },
	"max_grad_norm":               func(t *testing.T, c *Config) { c.MaxGradNorm = 0.5 },
	"loss_type":                   func(t *testing.T, c *Config) { c.LossType = "bnpo" },
	"epsilon_low":                 func(t *testing.T, c *Config) { c.EpsilonLow = 0.3 },
	"epsilon_high":                func(t *testing.T, c *Config) { c.EpsilonHigh = 0.28 },
	"num_iterations":              func(t *testing.T, c *Config) { c.NumIterations = 2 },
	"scale_rewards":               func(t *testing.T, c *Config) { c.ScaleRewards = ScaleNone },
	"reward_funcs":                func(t *testing.T, c *Config) { c.Rewards = []string{"accuracy"} },
	"max_prompt_length":           func(t *testing.T, c *Config) { c.MaxPromptLength = 256 },
	"max_completion_length":       func(t *testing.T, c *Config) { c.MaxCompletionLength = 13 },
	"min_pixels":                  func(t *testing.T, c *Config) { c.MinPixels = 6272 },
	"max_pixels":                  func(t *testing.T, c *Config) { c.MaxPixels = 200704 },
	"temperature":                 func(t *testing.T, c *Config) { c.Temperature = 0.7 },
	"top_k":                       func(t *testing.T, c *Config) { c.TopK = 20 },
	"top_p":                       func(t *testing.T, c *Config) { c.TopP = 0.9 },
	"seed":                        func(t *testing.T, c *Config) { c.Seed = 6 },
	"freeze":                      func(t *testing.T, c *Config) { c.Freeze = []string{"^vision/"} },
	"eval_steps":                  func(t *testing.T, c *Config) { c.EvalSteps = 1 },
	"eval_data_sha256":            func(t *testing.T, c *Config) { c.EvalSamples = c.Samples[:2] },
	"eval_template":               func(t *testing.T, c *Config) { c.EvalTemplate, _ = datasets.BuiltinTemplate("simple") },
	"eval_template_text": func(t *testing.T, c *Config) {
		c.EvalTemplate = datasets.Template{Name: "complex", Text: c.EvalTemplate.Text + " "}
	},
	"eval_max_new_tokens": func(t *testing.T, c *Config) { c.EvalMaxNewTokens = 7 },
	"threads":             func(t *testing.T, c *Config) { c.Threads = 2 },
	"backend":             func(t *testing.T, c *Config) { c.Backend = "xla:cpu" },
}

// TestTrainResumeRefusesChangedSettings walks resultSettings: resuming with
// any one of them changed is refused before anything is trained, naming the
// setting and both values, and the recorded manifest stays as it was.
func TestTrainResumeRefusesChangedSettings(t *testing.T) {
	dir := t.TempDir()
	samples := synthSamples(t, dir, 8)
	model := fakeModel(t, "weights")
	out := filepath.Join(dir, "out")
	base := func() Config {
		c := Config{ModelDir: model, Samples: samples, Out: out, NumGenerations: 3, PromptsPerStep: 2, GradAccum: 2,
			MaxSteps: 2, LR: 1e-3, MaxCompletionLength: 12, SaveSteps: 1, Seed: 5}
		fillDefaults(&c, DefaultConfig())
		return c
	}
	ctx := context.Background()
	// A fresh run writes its manifest, then fails to open the fake model.
	if _, err := Train(ctx, base()); err == nil || strings.Contains(err.Error(), "cannot resume") {
		t.Fatalf("fresh run on a fake model: %v", err)
	}
	manifest, err := os.ReadFile(filepath.Join(out, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(manifest, []byte(`"invalid_items": 0`)) || !bytes.Contains(manifest, []byte(`"model_sha256": "`)) {
		t.Errorf("train_manifest.json lacks invalid_items or model_sha256:\n%s", manifest)
	}
	// Without --resume the folder, now not empty, is refused.
	if _, err := Train(ctx, base()); err == nil || !strings.Contains(err.Error(), "output folder is not empty") || !strings.Contains(err.Error(), "--resume") {
		t.Errorf("fresh run into a used folder: %v", err)
	}
	c0 := base()
	funcs, _ := Rewards(c0.Rewards)
	for key := range resultSettings(c0, c0.MaxSteps, funcs, "", "", "") {
		mutate, ok := resumeMutations[key]
		if !ok {
			t.Errorf("resultSettings has %s but this test does not change it", key)
			continue
		}
		c := base()
		mutate(t, &c)
		c.Resume = true
		_, err := Train(ctx, c)
		if err == nil || !strings.Contains(err.Error(), "cannot resume "+out+": setting "+key+" differs: recorded ") {
			t.Errorf("%s changed: %v", key, err)
		}
	}
	if now, _ := os.ReadFile(filepath.Join(out, ManifestFile)); !bytes.Equal(now, manifest) {
		t.Error("a refused resume rewrote train_manifest.json")
	}
	// Unchanged, and the same model by another spelling of its path: the
	// check passes (the fake model then fails to load).
	c := base()
	c.ModelDir = filepath.Join(model, "..", filepath.Base(model)) + "/"
	c.Resume = true
	if _, err := Train(ctx, c); err == nil || strings.Contains(err.Error(), "cannot resume") {
		t.Errorf("same settings, model path respelled: %v", err)
	}
}

func TestTrainOutputFolderRules(t *testing.T) {
	dir := t.TempDir()
	samples := synthSamples(t, dir, 4)
	model := fakeModel(t, "weights")
	ctx := context.Background()

	// sft, like grpo, refuses a folder holding anything but its lock.
	out := filepath.Join(dir, "sft")
	os.MkdirAll(filepath.Join(out, "checkpoints", "step-2"), 0o755)
	os.WriteFile(filepath.Join(out, MetricsFile), []byte("{\"step\":1}\n"), 0o644)
	_, err := SFT(ctx, SFTConfig{ModelDir: model, Samples: samples, Out: out})
	if err == nil || !strings.Contains(err.Error(), "train sft output folder is not empty ([checkpoints metrics.jsonl])") {
		t.Errorf("sft into a used folder: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(out, MetricsFile)); string(b) != "{\"step\":1}\n" {
		t.Error("refused sft truncated metrics.jsonl")
	}

	// A folder whose lock another writer holds is refused, naming the pid.
	locked := filepath.Join(dir, "locked")
	l, err := records.LockDir(locked)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("in use by another medbench process (pid %d)", os.Getpid())
	if _, err := Train(ctx, Config{ModelDir: model, Samples: samples, Out: locked, MaxSteps: 1, Resume: true}); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("grpo into a locked folder: %v", err)
	}
	if _, err := SFT(ctx, SFTConfig{ModelDir: model, Samples: samples, Out: locked}); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("sft into a locked folder: %v", err)
	}
	l.Unlock()
	// Only the lock file left behind: still counts as empty.
	if _, err := SFT(ctx, SFTConfig{ModelDir: model, Samples: samples, Out: locked}); err == nil || strings.Contains(err.Error(), "not empty") || strings.Contains(err.Error(), "in use") {
		t.Errorf("sft into a folder holding only the lock file: %v", err)
	}
}

func TestOptimizerStateBytesReproducible(t *testing.T) {
	opt := NewAdamW(0)
	opt.Step = 3
	for i := range 40 {
		name := fmt.Sprintf("decoder/layer.%d.weight", i)
		opt.M[name] = []float64{float64(i), 0.5}
		opt.V[name] = []float64{float64(i) * 2, 0.25}
	}
	dir := t.TempDir()
	var files [][]byte
	for i := range 5 {
		p := filepath.Join(dir, fmt.Sprintf("opt%d.gob", i))
		if err := saveOptState(p, opt); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(p)
		files = append(files, b)
	}
	for i := 1; i < len(files); i++ {
		if !bytes.Equal(files[0], files[i]) {
			t.Fatalf("save %d differs from save 0: optimizer.gob is not byte-reproducible", i)
		}
	}
	st, err := loadOptState(filepath.Join(dir, "opt0.gob"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Step != 3 || !reflect.DeepEqual(st.M, opt.M) || !reflect.DeepEqual(st.V, opt.V) {
		t.Errorf("round trip: step %d, %d/%d moments", st.Step, len(st.M), len(st.V))
	}
	// A checkpoint written before (maps) still loads.
	var buf bytes.Buffer
	gob.NewEncoder(&buf).Encode(struct {
		Step int
		M, V map[string][]float64
	}{3, opt.M, opt.V})
	old := filepath.Join(dir, "old.gob")
	os.WriteFile(old, buf.Bytes(), 0o644)
	if st, err := loadOptState(old); err != nil || !reflect.DeepEqual(st.M, opt.M) || !reflect.DeepEqual(st.V, opt.V) {
		t.Errorf("old-format optimizer.gob: %v", err)
	}
}
