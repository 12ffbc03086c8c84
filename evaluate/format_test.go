package evaluate

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	"github.com/medbench/medbench/answer"
	"github.com/medbench/medbench/datasets"
	"github.com/medbench/medbench/metrics"
	"github.com/medbench/medbench/records"
	"github.com/medbench/medbench/runners"
)

// shapeRunner answers every prompt alike, by sample id: the bare solution
// letter, the letter with a period, the letter in answer tags, or a wrong
// bare letter, so that only the prompt's answer format can tell the
// scores of two prompts apart.
type shapeRunner struct{ sol map[string]string }

func (r shapeRunner) Generate(_ context.Context, reqs []runners.Request) ([]runners.Result, error) {
	out := make([]runners.Result, len(reqs))
	for i, q := range reqs {
		id, _ := strconv.Atoi(q.ID)
		text := []string{r.sol[q.ID], r.sol[q.ID] + ".", "<answer>" + r.sol[q.ID] + "</answer>", "Z"}[id%4]
		out[i] = runners.Result{ID: q.ID, Text: text, FinishReason: "eos"}
	}
	return out, nil
}
func (shapeRunner) Info() runners.Info { return runners.Info{Name: "shape", Model: "m"} }
func (shapeRunner) Close() error       { return nil }

func shapeRun(t *testing.T, prompts []datasets.Template, policies []metrics.Policy) (string, []records.ScoredSample) {
	t.Helper()
	samples := testSamples(8)
	sol := map[string]string{}
	for _, s := range samples {
		sol[s.ID()] = s.Record.Solution
	}
	dir := t.TempDir()
	_, err := Run(context.Background(), Config{Samples: samples, Prompts: prompts, Runner: shapeRunner{sol}, Batch: 3, OutDir: dir,
		Policies: policies, SeedFiles: true, Manifest: records.Manifest{Seed: 1, Runner: runners.Info{Name: "shape"}}})
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := records.ReadSamples(filepath.Join(dir, records.SamplesFile))
	if err != nil {
		t.Fatal(err)
	}
	return dir, got
}

func builtin(t *testing.T, name string) datasets.Template {
	t.Helper()
	tp, err := datasets.BuiltinTemplate(name)
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

func customTemplate(t *testing.T, name, text string) datasets.Template {
	t.Helper()
	p := filepath.Join(t.TempDir(), name+".txt")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	tp, err := datasets.ParseTemplate(name + "=" + p)
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

// TestCustomTemplateFormats: a custom template that declares letter-only is
// scored as the seed's simple prompt, and one that declares nothing as
// complex, whatever their names; their seed-format files match too.
func TestCustomTemplateFormats(t *testing.T) {
	letter := customTemplate(t, "mine", "#answer-format: letter-only\n"+datasets.SimpleText)
	tagged := customTemplate(t, "theirs", datasets.ComplexText)
	if letter.Format != answer.LetterOnly || tagged.Format != answer.Tagged {
		t.Fatalf("formats %v, %v", letter.Format, tagged.Format)
	}
	dir, got := shapeRun(t, []datasets.Template{builtin(t, "simple"), builtin(t, "complex"), letter, tagged}, nil)
	byKey := map[string]records.ScoredSample{}
	for _, s := range got {
		byKey[s.Key()] = s
	}
	for _, pair := range [][2]string{{"simple", "mine"}, {"complex", "theirs"}} {
		for id := range 8 {
			a, b := byKey[pair[0]+"/"+strconv.Itoa(id)], byKey[pair[1]+"/"+strconv.Itoa(id)]
			if a.Output != b.Output || !reflect.DeepEqual(a.Extractions, b.Extractions) || !reflect.DeepEqual(a.Correct, b.Correct) {
				t.Errorf("%s vs %s, sample %d: %q scored %v %v vs %v %v", pair[0], pair[1], id, a.Output, a.Extractions, a.Correct, b.Extractions, b.Correct)
			}
		}
		for _, mod := range []string{"MRI", "CT"} {
			a, errA := os.ReadFile(filepath.Join(dir, records.SeedFileName(mod, pair[0])))
			b, errB := os.ReadFile(filepath.Join(dir, records.SeedFileName(mod, pair[1])))
			if errA != nil || errB != nil || !bytes.Equal(a, b) {
				t.Errorf("%s: seed files of %s and %s differ (%v, %v)", mod, pair[0], pair[1], errA, errB)
			}
		}
	}
	// The seed stores a letter-only prompt's raw output as its answer.
	seed, err := records.ReadSeedFile(filepath.Join(dir, records.SeedFileName("MRI", "mine")))
	if err != nil {
		t.Fatal(err)
	}
	if r := seed.Results[1]; r.ModelOutput != "B." || r.ExtractedAnswer == nil || *r.ExtractedAnswer != "B." {
		t.Errorf("mine's seed file, sample 1: %q extracted as %v", r.ModelOutput, r.ExtractedAnswer)
	}
	// The letter-only reading is the seed's: only a bare letter counts.
	for id, want := range []bool{true, false, false, false} {
		if s := byKey["mine/"+strconv.Itoa(id)]; s.Correct["strict"] != want {
			t.Errorf("mine/%d %q: strict correct %v, want %v", id, s.Output, s.Correct["strict"], want)
		}
		if s := byKey["theirs/"+strconv.Itoa(id)]; s.Correct["strict"] != (id == 2) {
			t.Errorf("theirs/%d %q: strict correct %v", id, s.Output, s.Correct["strict"])
		}
	}
	// The manifest records the custom template as given, declaration included.
	run, err := records.ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if p := run.Manifest.Prompts[2]; p.Name != "mine" || p.Text != letter.Text {
		t.Errorf("manifest prompt %+v", p)
	}
}

// vowelPolicy is a toy policy added in a test: the first of A, E, I, O, U
// in the output.
type vowelPolicy struct{}

func (vowelPolicy) Name() string { return "vowel" }
func (vowelPolicy) Version() int { return 2 }
func (vowelPolicy) Extract(output string, _ answer.Format, _ []string) *string {
	for _, r := range output {
		switch r {
		case 'A', 'E', 'I', 'O', 'U':
			s := string(r)
			return &s
		}
	}
	return nil
}

// TestCustomPolicyRecorded: a policy added to a set is used for every
// sample, summarized, and recorded in the manifest as name/vN.
func TestCustomPolicyRecorded(t *testing.T) {
	set := metrics.NewPolicySet(metrics.Strict, metrics.Lenient, vowelPolicy{})
	p, err := set.ByName("vowel")
	if err != nil {
		t.Fatal(err)
	}
	dir, got := shapeRun(t, []datasets.Template{builtin(t, "complex")}, []metrics.Policy{metrics.Strict, p})
	run, err := records.ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"strict/v1", "vowel/v2"}; !reflect.DeepEqual(run.Manifest.Policies, want) {
		t.Errorf("manifest policies %q, want %q", run.Manifest.Policies, want)
	}
	if ids := set.IDs(); ids[2] != "vowel/v2" {
		t.Errorf("set IDs %q", ids)
	}
	for _, s := range got {
		_, ok := s.Extractions["vowel"]
		if want := s.Solution == "A" && s.Output != "Z"; !ok || s.Correct["vowel"] != want {
			t.Errorf("%s %q (solution %s): vowel %v, correct %v", s.Key(), s.Output, s.Solution, s.Extractions["vowel"], s.Correct["vowel"])
		}
	}
	var cells int
	for _, c := range run.Summary.Cells {
		if c.Policy == "vowel" {
			cells++
		}
	}
	if cells != 2 { // MRI and CT
		t.Errorf("%d summary cells for vowel", cells)
	}
}
