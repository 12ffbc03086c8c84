package evaluate

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medbench/medbench/datasets"
	"github.com/medbench/medbench/metrics"
	"github.com/medbench/medbench/records"
	"github.com/medbench/medbench/runners"
)

// letterRunner answers "A" to every request.
type letterRunner struct{}

func (letterRunner) Generate(_ context.Context, reqs []runners.Request) ([]runners.Result, error) {
	out := make([]runners.Result, len(reqs))
	for i, r := range reqs {
		out[i] = runners.Result{ID: r.ID, Text: "A", FinishReason: "eos"}
	}
	return out, nil
}
func (letterRunner) Info() runners.Info { return runners.Info{Name: "letter", Model: "m"} }
func (letterRunner) Close() error       { return nil }

func synthData(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	p, err := datasets.SynthTask(context.Background(), "count", datasets.SynthOptions{Out: dir, N: 8, Seed: 3, Modalities: []string{datasets.MRI, datasets.CT}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadData(t *testing.T) {
	p := synthData(t)
	d := Data{Cmd: "eval", Path: p, Selection: datasets.BySubset, Modalities: []string{"all"}, Limit: 3, InvalidItems: datasets.InvalidRefuse}
	sel, err := LoadData(d)
	if err != nil {
		t.Fatal(err)
	}
	if sel.Format != "json" || len(sel.Items) != 6 || len(sel.Invalid) != 0 {
		t.Errorf("selected %d items, format %q, invalid %v", len(sel.Items), sel.Format, sel.Invalid)
	}
	for _, c := range []struct {
		change func(*Data)
		prefix string
	}{
		{func(d *Data) { d.Format = "csv" }, "eval: "},
		{func(d *Data) { d.Modalities = []string{"PET"} }, "eval: " + p + ": "},
		{func(d *Data) { d.InvalidItems = "maybe" }, `eval: --invalid-items "maybe"`},
		{func(d *Data) { d.ModalityMapPath = filepath.Join(t.TempDir(), "none.json") }, ""},
	} {
		bad := d
		c.change(&bad)
		if _, err := LoadData(bad); err == nil || !strings.HasPrefix(err.Error(), c.prefix) {
			t.Errorf("%+v: error %v, want prefix %q", bad, err, c.prefix)
		}
	}
	d.InvalidItems = ""
	if sel, err := LoadData(d); err != nil || sel.Invalid != nil {
		t.Errorf("no invalid check: %v, %v", sel, err)
	}
}

func TestRunCommand(t *testing.T) {
	p := synthData(t)
	d := Data{Cmd: "eval", Path: p, Format: "json", Selection: datasets.BySubset, Modalities: []string{"all"}, InvalidItems: datasets.InvalidRefuse}
	sel, err := LoadData(d)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "run")
	simple, err := datasets.BuiltinTemplate("simple")
	if err != nil {
		t.Fatal(err)
	}
	smp := runners.SeedPreset()
	sum, err := RunCommand(context.Background(), Command{
		Data: d, Selected: sel, Version: "v", Line: []string{"medbench", "eval"},
		Runner: letterRunner{}, RunnerName: "letter", RunnerConfig: map[string]any{"threads": 1}, ModelSource: map[string]any{"ref": "hf:x"},
		Sampling: &smp, Seed: 7, Prompts: []datasets.Template{simple}, Policies: []metrics.Policy{metrics.Strict}, Batch: 2, Out: out,
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Samples != 8 {
		t.Errorf("summary of %d samples", sum.Samples)
	}
	run, err := records.ReadRun(out)
	if err != nil {
		t.Fatal(err)
	}
	cfg := run.Manifest.Config
	for k, want := range map[string]any{"batch": 2.0, "limit": 0.0, "select": "subset", "runner": "letter", "format": "json",
		"invalid_items": "refuse", "threads": 1.0} {
		if cfg[k] != want {
			t.Errorf("config %s = %v, want %v", k, cfg[k], want)
		}
	}
	if _, ok := cfg["columns"]; ok {
		t.Error("columns recorded for a json dataset")
	}
	if src, ok := cfg["model_source"].(map[string]any); !ok || src["ref"] != "hf:x" {
		t.Errorf("model_source %v", cfg["model_source"])
	}
	if _, err := os.Stat(filepath.Join(out, "summary.json")); err != nil {
		t.Error(err)
	}
}
