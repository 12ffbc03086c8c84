package merge

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/medbench/medbench/answer"
	"github.com/medbench/medbench/datasets"
	"github.com/medbench/medbench/evaluate"
	"github.com/medbench/medbench/records"
	"github.com/medbench/medbench/runners"
)

// TestMergeKeepsDeclaredFormat: the seed-format files of a custom template
// declaring letter-only come out of a merge as the unsharded run writes
// them (the raw output as the extracted answer): the merge reads the
// format back from the template text the manifest records.
func TestMergeKeepsDeclaredFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mine.txt")
	if err := os.WriteFile(path, []byte("#answer-format: letter-only\nQ: {Question}"), 0o644); err != nil {
		t.Fatal(err)
	}
	mine, err := datasets.ParseTemplate("mine=" + path)
	if err != nil || mine.Format != answer.LetterOnly {
		t.Fatalf("template %+v, %v", mine, err)
	}
	samples := testSamples(12)
	sol := map[string]string{}
	for _, s := range samples {
		sol[s.ID()] = s.Record.Solution
	}
	run := func(dir string, shard evaluate.Shard) {
		m := records.Manifest{Seed: 7, Dataset: records.Dataset{SHA256: "d4"}, Runner: runners.Info{Name: "echo"}}
		if _, err := evaluate.Run(context.Background(), evaluate.Config{Samples: samples, Prompts: []datasets.Template{mine}, Runner: echoRunner{sol},
			Batch: 2, OutDir: dir, Manifest: m, SeedFiles: true, Shard: shard}); err != nil {
			t.Fatal(err)
		}
	}
	root := t.TempDir()
	ref := filepath.Join(root, "ref")
	run(ref, evaluate.Shard{})
	var dirs []string
	for i := range 2 {
		d := filepath.Join(root, fmt.Sprint("shard-", i))
		run(d, evaluate.Shard{Index: i, Count: 2})
		dirs = append(dirs, d)
	}
	out := filepath.Join(root, "merged")
	if _, err := Runs(context.Background(), dirs, out, Options{}); err != nil {
		t.Fatal(err)
	}
	for _, mod := range []string{"MRI", "CT", "Xray"} {
		name := records.SeedFileName(mod, "mine")
		if a, b := read(t, filepath.Join(out, name)), read(t, filepath.Join(ref, name)); !bytes.Equal(a, b) {
			t.Errorf("%s differs from the unsharded run's:\n%s\nunsharded:\n%s", name, a, b)
		}
	}
	seed, err := records.ReadSeedFile(filepath.Join(out, records.SeedFileName("MRI", "mine")))
	if err != nil {
		t.Fatal(err)
	}
	if r := seed.Results[0]; r.ExtractedAnswer == nil || *r.ExtractedAnswer != r.ModelOutput {
		t.Errorf("letter-only seed result: output %q extracted as %v", r.ModelOutput, r.ExtractedAnswer)
	}
}
