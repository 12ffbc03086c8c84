package checkpoint

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/medbench/medbench/model/onnxpb"
	"github.com/medbench/medbench/model/safetensors"
	"github.com/medbench/medbench/ort/ortlib"
	"github.com/medbench/medbench/runners"
	"github.com/medbench/medbench/runners/fixture"
	"github.com/medbench/medbench/runners/qwen2vl"
)

// hfDir holds checkpoints written by transformers' save_pretrained and the
// answers its Qwen2VLForConditionalGeneration gave (testdata/hf/README.md).
const hfDir = "../testdata/hf"

// hfGolden is one line of a *.golden.jsonl file.
type hfGolden struct {
	Case         int       `json:"case"`
	Image        *string   `json:"image"`
	Text         string    `json:"text"`
	InputIDs     []int     `json:"input_ids"`
	GeneratedIDs []int     `json:"generated_ids"`
	Vocab        int       `json:"vocab"`
	Logits       []float32 `json:"prefill_last_logits"`
	HF           struct {
		RepetitionPenalty float64 `json:"repetition_penalty"`
		MaxNewTokens      int     `json:"max_new_tokens"`
		Naming            string  `json:"naming"`
		CheckpointDType   string  `json:"checkpoint_dtype"`
	} `json:"hf"`
}

func readGolden(t *testing.T, path string) []hfGolden {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []hfGolden
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var g hfGolden
		if err := json.Unmarshal(sc.Bytes(), &g); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, g)
	}
	if len(out) < 8 {
		t.Fatalf("%s: %d cases, want at least 8", path, len(out))
	}
	return out
}

// TestHFGoldens imports each checkpoint transformers wrote (bf16 sharded
// with the new names, fp32 legacy, fp16 untied with the new names) and runs
// every case through the qwen2vl runner in fp32: the prompt ids and HF's
// greedy ids must be equal, the last prompt position's logits within 1e-4.
func TestHFGoldens(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three imported models")
	}
	if _, err := ortlib.Init(""); err != nil {
		t.Skipf("ONNX Runtime unavailable: %v", err)
	}
	for _, name := range []string{"tiny-new-bf16", "tiny-legacy-fp32", "tiny-untied-new-fp16"} {
		t.Run(name, func(t *testing.T) {
			cases := readGolden(t, filepath.Join(hfDir, name+".golden.jsonl"))
			model := imp(t, filepath.Join(hfDir, name), ImportOptions{DType: "fp32"})
			var prov Provenance
			pb, _ := os.ReadFile(filepath.Join(model, "import.json"))
			if err := json.Unmarshal(pb, &prov); err != nil || string(prov.Naming) != cases[0].HF.Naming {
				t.Errorf("import.json naming %q, HF says %q (%v)", prov.Naming, cases[0].HF.Naming, err)
			}
			ctx := context.Background()
			r, err := qwen2vl.Open(ctx, qwen2vl.Config{
				ModelDir: model, DType: "fp32", Device: "cpu", Threads: 1,
				Sampling: runners.Sampling{Temperature: 1, TopP: 1, RepetitionPenalty: cases[0].HF.RepetitionPenalty,
					MaxNewTokens: cases[0].HF.MaxNewTokens, Seed: 1},
			})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			worst := 0.0
			for _, g := range cases {
				req := runners.Request{ID: fmt.Sprint(g.Case), Prompt: "hf", Text: g.Text}
				if g.Image != nil {
					req.Images = []runners.Image{{Path: filepath.Join(hfDir, "cases", *g.Image)}}
				}
				p, err := r.Prepare(req)
				if err != nil {
					t.Fatalf("case %d: %v", g.Case, err)
				}
				if !slices.Equal(p.InputIDs, g.InputIDs) {
					t.Errorf("case %d: input ids differ from HF's (%d vs %d tokens)", g.Case, len(p.InputIDs), len(g.InputIDs))
					continue
				}
				res, err := r.Generate(ctx, []runners.Request{req})
				if err != nil || res[0].Err != nil {
					t.Fatalf("case %d: %v %v", g.Case, err, res[0].Err)
				}
				if !slices.Equal(res[0].TokenIDs, g.GeneratedIDs) {
					t.Errorf("case %d: greedy ids %v, HF %v", g.Case, res[0].TokenIDs, g.GeneratedIDs)
				}
				logits, err := r.TokenLogits(ctx, p, g.GeneratedIDs[:1])
				if err != nil {
					t.Fatalf("case %d: %v", g.Case, err)
				}
				if len(logits) != len(g.Logits) || len(g.Logits) != g.Vocab {
					t.Fatalf("case %d: %d logits, HF %d (vocab %d)", g.Case, len(logits), len(g.Logits), g.Vocab)
				}
				for i, v := range logits {
					worst = math.Max(worst, math.Abs(float64(v)-float64(g.Logits[i])))
				}
			}
			t.Logf("%s: %d cases, max |logit - HF| = %.3g", name, len(cases), worst)
			if worst > 1e-4 {
				t.Errorf("last-position logits differ from HF's by up to %.3g (> 1e-4)", worst)
			}
		})
	}
}

// TestHFExportMatchesSavePretrained: importing the fp32 legacy checkpoint
// and exporting it in fp32 gives the bytes transformers v4.47.1's
// save_pretrained wrote (model.safetensors, config.json); the bf16 and
// fp16 checkpoints come back with bit-identical tensors under legacy names.
func TestHFExportMatchesSavePretrained(t *testing.T) {
	src := filepath.Join(hfDir, "tiny-legacy-fp32")
	out := export(t, imp(t, src, ImportOptions{}), ExportOptions{DType: "fp32"})
	for _, f := range []string{"model.safetensors", "config.json", "generation_config.json", "tokenizer.json"} {
		a, err1 := os.ReadFile(filepath.Join(src, f))
		b, err2 := os.ReadFile(filepath.Join(out, f))
		if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs from save_pretrained's (%v %v)\n%s\n----\n%s", f, err1, err2, a, b)
		}
	}
	for _, tc := range []struct{ name, dtype string }{{"tiny-new-bf16", "bf16"}, {"tiny-untied-new-fp16", "fp32"}} {
		src := filepath.Join(hfDir, tc.name)
		out := export(t, imp(t, src, ImportOptions{}), ExportOptions{DType: tc.dtype})
		wantDims, wantVals, _ := readAll(t, src)
		gotDims, gotVals, gotDT := readAll(t, out)
		if len(gotDims) != len(wantDims) {
			t.Errorf("%s: %d tensors exported, checkpoint has %d", tc.name, len(gotDims), len(wantDims))
		}
		for n, v := range wantVals {
			legacy, _ := ToLegacy(n)
			if !slices.Equal(gotDims[legacy], wantDims[n]) || !slices.Equal(gotVals[legacy], v) {
				t.Errorf("%s: %s (as %s) not bit-identical after import → export", tc.name, n, legacy)
			}
		}
		if want := map[string]safetensors.DType{"bf16": safetensors.BF16, "fp32": safetensors.F32}[tc.dtype]; gotDT["model.norm.weight"] != want {
			t.Errorf("%s: exported dtype %v", tc.name, gotDT["model.norm.weight"])
		}
	}
}

// TestHFShardSplit: huggingface_hub split tiny-new-bf16 into three shards at
// the smallest max_shard_size giving three; hubSplit over stateDictOrder
// at that size assigns every tensor to the same shard.
func TestHFShardSplit(t *testing.T) {
	src := filepath.Join(hfDir, "tiny-new-bf16")
	var idx struct {
		Metadata  map[string]int64  `json:"metadata"`
		WeightMap map[string]string `json:"weight_map"`
	}
	b, err := os.ReadFile(filepath.Join(src, safetensors.IndexFile))
	if err != nil || json.Unmarshal(b, &idx) != nil {
		t.Fatal(err)
	}
	cb, _ := os.ReadFile(filepath.Join(src, "config.json"))
	hc, err := fixture.ParseHFConfig("config.json", cb)
	if err != nil {
		t.Fatal(err)
	}
	dims, err := fixture.HFTensors(&hc.Config)
	if err != nil {
		t.Fatal(err)
	}
	order := stateDictOrder(&hc.Config)
	sizes := make([]int64, len(order))
	var total int64
	for i, n := range order {
		sizes[i] = onnxpb.NumElements(dims[n]) * 2
		total += sizes[i]
	}
	if total != idx.Metadata["total_size"] {
		t.Errorf("total_size %d, HF %d", total, idx.Metadata["total_size"])
	}
	lo, hi := int64(1), total
	for lo < hi { // smallest limit with at most 3 shards
		mid := (lo + hi) / 2
		if len(hubSplit(order, sizes, mid)) <= 3 {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	shards := hubSplit(order, sizes, lo)
	if len(shards) != 3 {
		t.Fatalf("%d shards at %d bytes", len(shards), lo)
	}
	for i, sh := range shards {
		want := fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, len(shards))
		for _, n := range sh {
			newName := "model.language_model." + n[len("model."):]
			if strings.HasPrefix(n, "visual.") {
				newName = "model." + n
			}
			if got := idx.WeightMap[newName]; got != want {
				t.Errorf("%s: HF put it in %q, hubSplit in %q", newName, got, want)
			}
		}
	}
}
