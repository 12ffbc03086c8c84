package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medbench/medbench/records"
	"github.com/medbench/medbench/runners/fixture"
)

// TestEvalResumeRefusesChangedSettings walks records.ResultFields: for every
// result-affecting setting, a resume that changes it through the command
// line is refused with exit 2, naming the field, and leaves manifest.json as
// it was. The same model given by another spelling of its path resumes.
func TestEvalResumeRefusesChangedSettings(t *testing.T) {
	model := tinyFixture(t)
	data := evalSynth(t, 6)
	out := filepath.Join(t.TempDir(), "run")
	base := []string{"eval", "--data", data, "--model", model, "--out", out, "--prompt", "complex", "--policy", "strict",
		"--limit", "1", "--max-new-tokens", "2", "--seed", "5", "--threads", "1", "--max-pixels", "12544", "--min-pixels", "3136"}
	if code, o, e := cliRun(t, base...); code != 0 {
		t.Fatalf("first run: exit %d\n%s%s", code, o, e)
	}
	manifest, _ := os.ReadFile(filepath.Join(out, records.ManifestFile))

	// set replaces (or adds) a flag's value; drop removes it.
	set := func(flag, v string) []string {
		args := append([]string(nil), base...)
		for i, a := range args {
			if a == flag {
				args[i+1] = v
				return args
			}
		}
		return append(args, flag, v)
	}
	drop := func(flag string) []string {
		var args []string
		for i := 0; i < len(base); i++ {
			if base[i] == flag {
				i++
				continue
			}
			args = append(args, base[i])
		}
		return args
	}
	otherModel := filepath.Join(t.TempDir(), "model2")
	mm := filepath.Join(t.TempDir(), "mm.json")
	os.WriteFile(mm, []byte(`{"MRI": "CT"}`), 0o644)
	changedData := filepath.Join(filepath.Dir(data), "changed.json") // same images root
	b, _ := os.ReadFile(data)
	os.WriteFile(changedData, append(b, '\n'), 0o644)
	imagesCopy := t.TempDir()
	copyDir(t, filepath.Dir(data), imagesCopy)
	os.WriteFile(filepath.Join(imagesCopy, "images", firstImage(t, data)), []byte("not the same image"), 0o644)

	// Each case changes the named field (the first one the manifest compare
	// meets); "" for a field no flag of this runner can change, with why.
	cases := map[string]struct {
		args []string
		skip string
		want string // in the error when not the field name
	}{
		"dataset.sha256":        {args: set("--data", changedData)},
		"dataset.images_sha256": {args: set("--images", imagesCopy), want: "the image of sample complex/"},
		"dataset.selection":     {skip: "seed-slices needs 900 records; records.TestCompatibleWalksEveryResultField covers it"},
		"dataset.modalities":    {args: set("--modality", "MRI,CT")},
		"dataset.n":             {args: set("--limit", "2")},
		"prompts":               {args: set("--prompt", "simple")},
		"policies":              {args: set("--policy", "lenient")},
		"runner.name":           {skip: "another runner needs other inputs (--outputs); records.TestCompatibleWalksEveryResultField covers it"},
		"runner.model":          {skip: "an onnx model is compared by its files' hashes (runner.files)"},
		"runner.files":          {args: set("--model", otherModel)},
		"runner.device":         {skip: "no second device in tests"},
		"runner.settings":       {args: set("--threads", "2")},
		"sampling":              {args: set("--max-new-tokens", "3")},
		"seed":                  {args: set("--seed", "6"), want: "seed differs: recorded 5, now 6"},
		"config.limit":          {skip: "--limit also changes dataset.n, met first"},
		"config.select":         {skip: "--select also changes dataset.selection, met first"},
		"config.modality":       {args: set("--modality", "MRI,CT,Xray")}, // same samples, other spelling of the choice
		"config.format":         {skip: "a JSON file read as parquet fails to load before resume"},
		"config.columns":        {skip: "parquet only; records.TestCompatibleWalksEveryResultField covers it"},
		"config.modality_map":   {args: set("--modality-map", mm)},
		"config.max_pixels":     {args: drop("--max-pixels")},
		"config.min_pixels":     {args: set("--min-pixels", "6272")},
		"config.preset":         {args: set("--preset", "medvlm-r1")},
		"config.dtype":          {skip: "the fixture has fp32 weights only"},
		"config.device":         {skip: "no second device in tests"},
		"config.invalid_items":  {args: set("--invalid-items", "score")},
	}
	if err := fixture.Write(context.Background(), otherModel, fixture.Options{Preset: "tiny", DType: "fp32", Seed: 2}); err != nil {
		t.Fatal(err)
	}
	for _, f := range records.ResultFields(records.Manifest{}) {
		c, ok := cases[f.Name]
		if !ok {
			t.Errorf("records.ResultFields has %s but this test does not change it", f.Name)
			continue
		}
		if c.skip != "" {
			continue
		}
		code, o, e := cliRun(t, append(c.args, "--resume")...)
		want := "manifest field " + f.Name
		if c.want != "" {
			want = c.want
		}
		if code != exitUsage || !strings.Contains(e, "cannot resume") || !strings.Contains(e, want) {
			t.Errorf("%s: resume with %v: exit %d\n%s%s", f.Name, c.args[len(base)-2:], code, o, e)
		}
		if now, _ := os.ReadFile(filepath.Join(out, records.ManifestFile)); string(now) != string(manifest) {
			t.Fatalf("%s: a refused resume rewrote manifest.json", f.Name)
		}
	}
	// The same model, spelled with a trailing slash and through "..": resumes.
	respelled := filepath.Join(model, "..", filepath.Base(model)) + "/"
	if code, o, e := cliRun(t, append(set("--model", respelled), "--resume")...); code != 0 {
		t.Errorf("same model, other spelling: exit %d\n%s%s", code, o, e)
	}
	var m records.Manifest
	if err := records.ReadJSON(filepath.Join(out, records.ManifestFile), &m); err != nil {
		t.Fatal(err)
	}
	if m.Runner.Model != model || len(m.Resumed) != 1 {
		t.Errorf("after resume the manifest names model %v (want the recorded %s), resumed %v", m.Runner.Model, model, m.Resumed)
	}
}

func firstImage(t *testing.T, data string) string {
	t.Helper()
	run, err := os.ReadDir(filepath.Join(filepath.Dir(data), "images"))
	if err != nil || len(run) == 0 {
		t.Fatalf("synth images: %v", err)
	}
	return run[0].Name()
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
