package main

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medbench/medbench/datasets"
	"github.com/medbench/medbench/records"
)

// TestEvalImagesRootMissing: --images naming a folder that does not exist
// (or a file) is an input error naming it, not a run of failed samples.
func TestEvalImagesRootMissing(t *testing.T) {
	data := evalSynth(t, 6)
	outputs, _ := writeOutputs(t, data)
	missing := filepath.Join(t.TempDir(), "nonexistent")
	for _, root := range []string{missing, data} {
		out := filepath.Join(t.TempDir(), "run")
		code, _, stderr := cliRun(t, "eval", "--data", data, "--images", root, "--out", out, "--runner", "replay", "--outputs", outputs)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != 2 || len(lines) != 1 || !strings.Contains(stderr, "--images "+root) {
			t.Errorf("--images %s: exit %d, stderr %q", root, code, stderr)
		}
		if _, err := os.Stat(filepath.Join(out, records.SamplesFile)); err == nil {
			t.Errorf("--images %s: a record was started", root)
		}
	}
}

// TestEvalMaxErrorRate: more failed samples than --max-error-rate (default
// 5%) exits 1 after the whole record is written, with one line naming the
// rate and the first errors; a higher limit accepts the same run.
func TestEvalMaxErrorRate(t *testing.T) {
	data := evalSynth(t, 20)
	// Outputs for 18 of 20 records: 2 failures = 10%.
	full, _ := writeOutputs(t, data)
	b, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	var keep []string
	for _, ln := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if strings.Contains(ln, `"prompt":"complex"`) && !strings.Contains(ln, `"id":"3"`) && !strings.Contains(ln, `"id":"7"`) {
			keep = append(keep, ln)
		}
	}
	partial := filepath.Join(t.TempDir(), "partial.jsonl")
	os.WriteFile(partial, []byte(strings.Join(keep, "\n")+"\n"), 0o644)
	args := func(out string, extra ...string) []string {
		return append([]string{"eval", "--data", data, "--out", out, "--runner", "replay", "--outputs", partial, "--prompt", "complex"}, extra...)
	}
	out := filepath.Join(t.TempDir(), "run")
	code, stdout, stderr := cliRun(t, args(out)...)
	// stderr: progress lines, then the one-line failure.
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	last := lines[len(lines)-1]
	if code != 1 || !strings.HasPrefix(last, "medbench: eval: ") || strings.Count(stderr, "medbench: ") != 1 {
		t.Fatalf("10%% failed, default limit: exit %d, stderr %q", code, stderr)
	}
	for _, w := range []string{"2 of 20 samples failed", "10.0%", "--max-error-rate 5.0%", "complex/3", "no recorded output"} {
		if !strings.Contains(last, w) {
			t.Errorf("stderr %q lacks %q", last, w)
		}
	}
	if !strings.Contains(stdout, "20 samples (2 failed)") {
		t.Errorf("summary table not printed: %q", stdout)
	}
	if s := readSummary(t, out); s.Samples != 20 || s.Errors != 2 {
		t.Errorf("record not complete: %d samples, %d errors", s.Samples, s.Errors)
	}
	if code, _, stderr := cliRun(t, args(filepath.Join(t.TempDir(), "r2"), "--max-error-rate", "0.1")...); code != 0 {
		t.Errorf("10%% failed, limit 10%%: exit %d %q", code, stderr)
	}
	if code, _, stderr := cliRun(t, args(filepath.Join(t.TempDir(), "r3"), "--max-error-rate", "1.5")...); code != 2 || !strings.Contains(stderr, "--max-error-rate") {
		t.Errorf("bad limit: exit %d %q", code, stderr)
	}
}

// TestEvalMaxImagePixels: --max-image-pixels reaches the runner and the
// manifest; an image above the limit is recorded with a warning, one above
// twice the limit fails its sample (and so the run, by --max-error-rate).
func TestEvalMaxImagePixels(t *testing.T) {
	model := tinyFixture(t)
	dir := t.TempDir()
	if code, out, errOut := cliRun(t, "dataset", "synth", "--out", dir, "--n", "3", "--seed", "3", "--min-side", "40", "--max-side", "40"); code != 0 {
		t.Fatalf("dataset synth: exit %d: %s%s", code, out, errOut)
	}
	data := filepath.Join(dir, "dataset.json")
	run := func(limit string) (int, string, *records.Run) {
		out := filepath.Join(t.TempDir(), "run")
		code, _, stderr := cliRun(t, "eval", "--data", data, "--model", model, "--out", out, "--prompt", "simple", "--limit", "1",
			"--max-new-tokens", "2", "--threads", "1", "--max-image-pixels", limit)
		run, err := records.ReadRun(out)
		if err != nil {
			t.Fatalf("limit %s: exit %d %s: %v", limit, code, stderr, err)
		}
		return code, stderr, run
	}
	// 40×40 = 1600 pixels: above 1000, not above 2000.
	code, stderr, r := run("1000")
	if code != 0 {
		t.Fatalf("limit 1000: exit %d %s", code, stderr)
	}
	if v := r.Manifest.Config["max_image_pixels"]; v != float64(1000) {
		t.Errorf("manifest max_image_pixels %v", v)
	}
	for _, s := range r.Samples {
		if s.Error != "" || len(s.Warnings) != 1 || !strings.Contains(s.Warnings[0], "1600 pixels exceeds the limit of 1000") {
			t.Errorf("sample %s: error %q warnings %q", s.Key(), s.Error, s.Warnings)
		}
	}
	code, stderr, r = run("700")
	if code != 1 || !strings.Contains(stderr, "decompression bomb") {
		t.Errorf("limit 700: exit %d %s", code, stderr)
	}
	for _, s := range r.Samples {
		if !strings.Contains(s.Error, "decompression bomb") {
			t.Errorf("sample %s: error %q", s.Key(), s.Error)
		}
	}
}

// TestDatasetValidateDecodesImages: validate decodes every image as eval
// does, so a truncated PNG, a truncated JPEG and a PNG whose header claims
// 20000×20000 16-bit RGBA (a decompression bomb) each fail validate,
// naming the file and the record; --header-only still catches the bomb.
func TestDatasetValidateDecodesImages(t *testing.T) {
	dir := t.TempDir()
	if code, out, errOut := cliRun(t, "dataset", "synth", "--out", dir, "--n", "12", "--seed", "3", "--max-side", "64"); code != 0 {
		t.Fatalf("dataset synth: exit %d: %s%s", code, out, errOut)
	}
	data := filepath.Join(dir, "dataset.json")
	recs, err := datasets.ReadRecords(data)
	if err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := cliRun(t, "dataset", "validate", data, "--images", dir); code != 0 {
		t.Fatalf("fresh synth: exit %d %s", code, stderr)
	}
	find := func(ext string, skip int) int {
		for i, r := range recs {
			if strings.HasSuffix(strings.ToLower(r.Image[0]), ext) && i != skip {
				return i
			}
		}
		t.Fatalf("no %s image in the synthetic set", ext)
		return -1
	}
	truncate := func(i int) {
		p := filepath.Join(dir, recs[i].Image[0])
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(p, b[:len(b)*2/3], 0o644)
	}
	pngRec, jpegRec := find(".png", -1), find(".jpg", -1)
	bombRec := find(".png", pngRec)
	truncate(pngRec)
	truncate(jpegRec)
	os.WriteFile(filepath.Join(dir, recs[bombRec].Image[0]), bombPNG(20000, 20000), 0o644)

	code, stdout, stderr := cliRun(t, "dataset", "validate", data, "--images", dir, "--workers", "2")
	if code != 1 {
		t.Fatalf("damaged images: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, i := range []int{pngRec, jpegRec, bombRec} {
		want := fmt.Sprintf("record %d: field \"image\": %q: does not decode (%s", i, recs[i].Image[0], filepath.Join(dir, recs[i].Image[0]))
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stdout, "decompression bomb") || strings.Count(stdout, "\n") != 3 {
		t.Errorf("want exactly the three problems:\n%s", stdout)
	}
	code, stdout, _ = cliRun(t, "dataset", "validate", data, "--images", dir, "--header-only")
	if code != 1 || !strings.Contains(stdout, fmt.Sprintf("record %d", bombRec)) || strings.Contains(stdout, fmt.Sprintf("record %d:", pngRec)) {
		t.Errorf("--header-only: exit %d\n%s", code, stdout)
	}
	if code, _, stderr := cliRun(t, "dataset", "validate", data, "--images", filepath.Join(dir, "nope")); code != 2 || !strings.Contains(stderr, "nope") {
		t.Errorf("missing --images root: exit %d %q", code, stderr)
	}
}

// bombPNG is a PNG of about 100 bytes whose IHDR claims w×h 16-bit RGBA.
func bombPNG(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		c := append([]byte(typ), data...)
		b.Write(c)
		binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(c))
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 16, 6
	chunk("IHDR", ihdr)
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(make([]byte, 64))
	zw.Close()
	chunk("IDAT", z.Bytes())
	chunk("IEND", nil)
	return b.Bytes()
}

// TestTrainImagesRootMissing: train grpo/sft refuse a missing --images root
// before opening the model.
func TestTrainImagesRootMissing(t *testing.T) {
	data := evalSynth(t, 4)
	missing := filepath.Join(t.TempDir(), "nonexistent")
	for _, sub := range []string{"grpo", "sft"} {
		code, _, stderr := cliRun(t, "train", sub, "--model", t.TempDir(), "--data", data, "--images", missing, "--out", filepath.Join(t.TempDir(), "o"))
		if code != 2 || !strings.Contains(stderr, "train "+sub+": --images "+missing+": no such folder") {
			t.Errorf("train %s: exit %d, %q", sub, code, stderr)
		}
	}
}
