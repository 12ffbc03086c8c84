package grpo

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/medbench/medbench/datasets"
	"github.com/medbench/medbench/evaluate"
	"github.com/medbench/medbench/internal/filehash"
	"github.com/medbench/medbench/records"
)

// ManifestFile is the training run's manifest in Out.
const ManifestFile = "train_manifest.json"

// openOut takes the exclusive lock on a training output folder (held until
// the returned lock is released) and, for a fresh run, refuses a folder that
// already holds anything: a fresh run there would truncate metrics.jsonl
// while old checkpoints/step-N stay, and a later resume would stitch two
// runs together.
func openOut(out, what string, resume, canResume bool) (*records.Lock, error) {
	lock, err := records.LockDir(out)
	if err != nil {
		return nil, fmt.Errorf("grpo: %w", err)
	}
	if resume {
		return lock, nil
	}
	ents, err := os.ReadDir(out)
	if err != nil {
		lock.Unlock()
		return nil, fmt.Errorf("grpo: %w", err)
	}
	var names []string
	for _, e := range ents {
		if e.Name() != records.LockFile {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return lock, nil
	}
	lock.Unlock()
	hint := "choose another --out (or remove it)"
	if canResume {
		hint = "pass --resume to continue that run, or " + hint
	}
	sort.Strings(names)
	if len(names) > 5 {
		names = append(names[:5], "...")
	}
	return nil, fmt.Errorf("grpo: %s: %s output folder is not empty (%v); %s", out, what, names, hint)
}

// resultSettings lists, in one place, every setting of a GRPO run that can
// change what it produces (rollouts, updates, logged metrics, checkpoints):
// resume requires each to equal the recorded one. The starting model and
// the data are compared by content (model_sha256 digests every file's
// sha256 by relative path, so "model/" and "/abs/model" are the same;
// data_sha256 digests the records and their images), not by path.
// Bookkeeping that leaves the trajectory alone (save_steps, stop_after, the
// paths as typed) is recorded in the manifest but not compared.
func resultSettings(c Config, maxSteps int, funcs []RewardFunc, modelSHA, dataSHA, evalSHA string) map[string]any {
	return map[string]any{
		"model_sha256": modelSHA, "data_sha256": dataSHA,
		"template": c.Template.Name, "template_text": c.Template.Text,
		"num_generations": c.NumGenerations, "prompts_per_step": c.PromptsPerStep, "gradient_accumulation_steps": c.GradAccum,
		"epochs": c.Epochs, "max_steps": maxSteps, "learning_rate": c.LR, "warmup_steps": c.WarmupSteps,
		"lr_scheduler": sched(c.LRScheduler), "beta": c.Beta, "weight_decay": c.WeightDecay, "max_grad_norm": c.MaxGradNorm,
		"loss_type": c.LossType, "epsilon_low": c.EpsilonLow, "epsilon_high": c.EpsilonHigh, "num_iterations": c.NumIterations,
		"scale_rewards": c.ScaleRewards, "reward_funcs": names(funcs), "max_prompt_length": c.MaxPromptLength,
		"max_completion_length": c.MaxCompletionLength, "min_pixels": c.MinPixels, "max_pixels": c.MaxPixels,
		"temperature": c.Temperature, "top_k": c.TopK, "top_p": c.TopP, "seed": c.Seed, "freeze": c.Freeze,
		"eval_steps": c.EvalSteps, "eval_data_sha256": evalSHA, "eval_template": c.EvalTemplate.Name,
		"eval_template_text": c.EvalTemplate.Text, "eval_max_new_tokens": c.EvalMaxNewTokens,
		"threads": c.Threads, "backend": c.Backend,
	}
}

// checkResume compares the result settings recorded in Out's manifest with
// the current ones; the error names the first differing setting (in sorted
// order) and both values, uncut. A folder without a manifest has nothing
// to compare.
func checkResume(out string, now map[string]any) error {
	p := filepath.Join(out, ManifestFile)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("grpo: %w", err)
	}
	var rec map[string]any
	if err := json.Unmarshal(b, &rec); err != nil {
		return fmt.Errorf("grpo: %s: %w", p, err)
	}
	keys := make([]string, 0, len(now))
	for k := range now {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var n any
		if err := json.Unmarshal(mustJSON(now[k]), &n); err != nil {
			return fmt.Errorf("grpo: setting %s: %w", k, err)
		}
		r, ok := rec[k]
		if !ok || !equalJSON(r, n) {
			recorded := string(mustJSON(r))
			if !ok {
				recorded = "(absent)"
			}
			return fmt.Errorf("grpo: cannot resume %s: setting %s differs: recorded %s, now %s (%s); rerun with the recorded settings or train into a fresh --out", out, k, recorded, mustJSON(n), ManifestFile)
		}
	}
	return nil
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

func equalJSON(a, b any) bool { return string(mustJSON(a)) == string(mustJSON(b)) }

// writeManifest writes Out/train_manifest.json: the result settings plus
// bookkeeping (paths as given, sample counts, save_steps, stop_after,
// invalid_items).
// On resume the recorded manifest is kept and only the resume time added:
// it describes the steps already taken, which were produced under it.
func writeManifest(c Config, settings map[string]any, resume bool) error {
	p := filepath.Join(c.Out, ManifestFile)
	m := map[string]any{}
	if resume {
		if b, err := os.ReadFile(p); err == nil {
			if err := json.Unmarshal(b, &m); err != nil {
				return fmt.Errorf("grpo: %s: %w", p, err)
			}
		}
	}
	if len(m) == 0 {
		for k, v := range settings {
			m[k] = v
		}
		m["model"], m["samples"], m["save_steps"], m["stop_after"], m["eval_samples"] = c.ModelDir, len(c.Samples), c.SaveSteps, c.StopAfter, len(c.EvalSamples)
		m["invalid_items"] = c.InvalidItems
		if c.ModelSource != nil {
			m["model_source"] = c.ModelSource
		}
	} else {
		resumed, _ := m["resumed"].([]any)
		m["resumed"] = append(resumed, time.Now().UTC().Format(time.RFC3339))
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		return fmt.Errorf("grpo: %w", err)
	}
	return nil
}

// dirSHA256 digests a folder's files: each regular file's sha256 with its
// slash-separated path relative to dir, in sorted order. The same folder
// reached by another spelling of its path has the same digest. A symbolic
// link to a regular file counts as that file (a Hugging Face cache snapshot
// is made of links into its blobs/ folder).
func dirSHA256(dir string) (string, error) {
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		regular := d.Type().IsRegular()
		if d.Type()&fs.ModeSymlink != 0 {
			st, err := os.Stat(p)
			regular = err == nil && st.Mode().IsRegular()
		}
		if !regular {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		sum, err := filehash.SHA256(p)
		if err != nil {
			return err
		}
		lines = append(lines, filepath.ToSlash(rel)+"\t"+sum)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("grpo: hash model %s: %w", dir, err)
	}
	sort.Strings(lines)
	h := sha256.New()
	for _, l := range lines {
		fmt.Fprintln(h, l)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// samplesSHA256 digests the samples' records (in order) and their images'
// content.
func samplesSHA256(samples []datasets.Item) string {
	if len(samples) == 0 {
		return ""
	}
	_, imgs := evaluate.ImageHashes(samples)
	h := sha256.New()
	for _, s := range samples {
		b, _ := json.Marshal(s.Record)
		fmt.Fprintf(h, "%d\t%s\n", s.Index, b)
	}
	fmt.Fprintln(h, imgs)
	return hex.EncodeToString(h.Sum(nil))
}
