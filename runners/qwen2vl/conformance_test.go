package qwen2vl

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medbench/medbench/datasets"
	"github.com/medbench/medbench/model/imageproc"
	"github.com/medbench/medbench/runners"
)

// peerCase is one transformers.js case (testtools/tjs-peer.mjs input).
type peerCase struct {
	Image string `json:"image,omitempty"`
	Text  string `json:"text"`
}

type peerOut struct {
	IDs  []int  `json:"ids"`
	Text string `json:"text"`
}

// testtoolsDir returns the repository's testtools folder, or skips when node
// or the installed transformers.js are missing.
func testtoolsDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "testtools"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("conformance: node not found on PATH; install Node.js and run `make testtools`")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@huggingface", "transformers", "package.json")); err != nil {
		t.Skip("conformance: testtools/node_modules lacks @huggingface/transformers; run `make testtools`")
	}
	return dir
}

// runPeer runs transformers.js on the cases and returns one output per case.
func runPeer(t *testing.T, tools, model string, cases []peerCase, maxNew int, env ...string) []peerOut {
	t.Helper()
	f := filepath.Join(t.TempDir(), "cases.json")
	b, _ := json.Marshal(cases)
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(tools, "tjs-peer.mjs"), model, f, fmt.Sprint(maxNew))
	cmd.Dir = tools
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("tjs-peer: %v\n%s", err, stderr.String())
	}
	var outs []peerOut
	dec := json.NewDecoder(&stdout)
	for dec.More() {
		var o peerOut
		if err := dec.Decode(&o); err != nil {
			t.Fatalf("tjs-peer output: %v", err)
		}
		outs = append(outs, o)
	}
	if len(outs) != len(cases) {
		t.Fatalf("tjs-peer gave %d outputs for %d cases\n%s", len(outs), len(cases), stderr.String())
	}
	return outs
}

// conformanceCases builds n image+prompt cases: both seed prompts, image
// sides that are multiples of 28 within the pixel bounds (so that neither
// side resizes), 8-bit RGB, gray and RGBA PNGs.
func conformanceCases(t *testing.T, n int, offset int) []peerCase {
	t.Helper()
	dir := t.TempDir()
	sizes := [][2]int{{56, 56}, {84, 56}, {56, 112}, {112, 84}, {140, 56}, {84, 84}, {168, 112}, {56, 196}, {112, 112}, {252, 56}}
	modes := []string{"rgb", "gray", "rgba"}
	problems := []string{
		"What imaging modality was used? A) MRI B) CT C) X-ray D) Ultrasound",
		"Which structure is abnormal in this image?\nA) Chondral abnormality\nB) Bone density loss\nC) Synovial cyst formation\nD) Ligament tear",
		"Is there a fracture? A) yes B) no",
		"Where is the lesion located? A) left lobe B) right lobe C) both D) none",
	}
	simple, _ := datasets.BuiltinTemplate("simple")
	complexT, _ := datasets.BuiltinTemplate("complex")
	var cases []peerCase
	for i := offset; i < offset+n; i++ {
		s := sizes[i%len(sizes)]
		p := filepath.Join(dir, fmt.Sprintf("img%d.png", i))
		if err := os.WriteFile(p, testPNG(t, s[0], s[1], modes[i%len(modes)], i), 0o644); err != nil {
			t.Fatal(err)
		}
		tmpl := simple
		if i%2 == 1 {
			tmpl = complexT
		}
		cases = append(cases, peerCase{Image: p, Text: tmpl.Render(problems[(i/2)%len(problems)])})
	}
	return cases
}

func goIDs(t *testing.T, r *Runner, cases []peerCase) [][]int {
	t.Helper()
	var out [][]int
	for i, c := range cases {
		res, err := r.Generate(context.Background(), []runners.Request{{ID: fmt.Sprint(i), Images: []runners.Image{{Path: c.Image}}, Text: c.Text}})
		if err != nil {
			t.Fatal(err)
		}
		if res[0].Err != nil {
			t.Fatalf("case %d: %v", i, res[0].Err)
		}
		out = append(out, res[0].TokenIDs)
	}
	return out
}

// TestConformanceTransformersJS: greedy token ids equal transformers.js's
// on the tiny fixture, for 24 image+prompt cases (12 with Hugging Face's
// default repetition penalty 1, 12 with 2, which also makes the random-weight
// model's outputs diverse), plus fp16 cases.
func TestConformanceTransformersJS(t *testing.T) {
	tools := testtoolsDir(t)
	const maxNew = 24
	for _, tc := range []struct {
		name    string
		dtype   string
		penalty float64
		n, off  int
	}{
		{"fp32/penalty1", "fp32", 1, 12, 0},
		{"fp32/penalty2", "fp32", 2, 12, 12},
		{"fp16/penalty2", "fp16", 2, 4, 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			model := tinyModel(t, tc.dtype)
			cases := conformanceCases(t, tc.n, tc.off)
			s := greedy(maxNew)
			s.RepetitionPenalty = tc.penalty
			// transformers.js's RawImage.rgb() drops alpha, as qwen-vl-utils 0.0.8 did.
			r := openTiny(t, tc.dtype, s, func(c *Config) { c.TJSNormalize = true; c.RGBA = imageproc.RGBAQwenVLUtils008 })
			got := goIDs(t, r, cases)
			want := runPeer(t, tools, model, cases, maxNew,
				"TJS_DTYPE="+tc.dtype, fmt.Sprintf(`TJS_GEN_JSON={"repetition_penalty":%v}`, tc.penalty))
			distinct := map[string]bool{}
			for i := range cases {
				if !slices.Equal(got[i], want[i].IDs) {
					t.Errorf("case %d (%s): medbench %v\ntransformers.js %v", i, filepath.Base(cases[i].Image), got[i], want[i].IDs)
				}
				if text := r.Tokenizer().Decode(got[i], true); text != want[i].Text && !strings.ContainsRune(text, '\uFFFD') {
					t.Errorf("case %d: text %q, transformers.js %q", i, text, want[i].Text)
				}
				distinct[fmt.Sprint(got[i])] = true
			}
			if tc.penalty != 1 && len(distinct) < tc.n/2 {
				t.Errorf("only %d distinct outputs over %d cases: the comparison would not notice ignored inputs", len(distinct), tc.n)
			}
		})
	}
}
