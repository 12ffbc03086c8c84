package grpo

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/medbench/medbench/runners/qwen2vl"
)

// TestLayoutUsesGeometry lays out a group under a geometry unlike
// Qwen2-VL's (image pad 7, no spatial merge, 6-value patches): the pads
// are counted against grid/merge² features and the pixels are split into
// PatchDim rows, so any constant left in the layout fails here.
func TestLayoutUsesGeometry(t *testing.T) {
	e := &Engine{cfg: EngineConfig{ImagePadID: 7}, geom: qwen2vl.Geometry{ImageTokenID: 7, MergeSize: 1, PatchDim: 6}}
	g := Group{
		PromptIDs:   []int64{1, 7, 7, 2},
		Positions:   [3][]int64{{0, 1, 1, 2}, {0, 1, 1, 2}, {0, 1, 2, 3}},
		PixelValues: make([]float32, 12), // two patches of 6
		GridTHW:     [][3]int64{{1, 1, 2}},
		Completions: [][]int64{{5, 6}},
	}
	gt, err := e.tensorsFor(g)
	if err != nil {
		t.Fatal(err)
	}
	if d := gt.args[0].(*tensors.Tensor).Shape().Dimensions; d[0] != 2 || d[1] != 6 {
		t.Fatalf("pixel values laid out as %v, want [2 6]", d)
	}
	sel, idx := flatArg[float32](t, gt.args[5]), flatArg[int32](t, gt.args[6])
	wantSel := []float32{0, 1, 1, 0, 0}
	wantIdx := []int32{0, 0, 1, 0, 0}
	for i := range wantSel {
		if sel[i] != wantSel[i] || idx[i] != wantIdx[i] {
			t.Fatalf("image-pad selection %v / feature index %v, want %v / %v", sel, idx, wantSel, wantIdx)
		}
	}
	// Qwen2-VL's merge of 2 gives the 1×1×2 grid no feature for two pads.
	e.geom.MergeSize = 2
	if _, err := e.tensorsFor(g); err == nil || !strings.Contains(err.Error(), "image pads") {
		t.Fatalf("merge 2: err %v, want a pad/feature count mismatch", err)
	}
	// 12 pixel values are no [N, 1176] patch rows.
	e.geom = qwen2vl.Geometry{ImageTokenID: 7, MergeSize: 1, PatchDim: 1176}
	if _, err := e.tensorsFor(g); err == nil || !strings.Contains(err.Error(), "1176") {
		t.Fatalf("patch dim 1176: err %v, want a pixel-shape error", err)
	}
}

// flatArg returns a graph input's values.
func flatArg[T float32 | int32](t *testing.T, a any) []T {
	t.Helper()
	v, err := tensors.CopyFlatData[T](a.(*tensors.Tensor))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// editJSON rewrites a model directory's JSON file through edit.
func editJSON(t *testing.T, path string, edit func(map[string]any)) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	if b, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestEngineGeometryFromConfig checks that NewEngine takes the geometry
// from the model's files: a spatial merge of 1 in config.json and
// preprocessor_config.json is honoured, and a config.json without
// image_token_id is rejected naming the file.
func TestEngineGeometryFromConfig(t *testing.T) {
	model, _ := tinyModel(t)
	cfgPath := filepath.Join(model, "config.json")
	editJSON(t, cfgPath, func(m map[string]any) { m["vision_config"].(map[string]any)["spatial_merge_size"] = 1 })
	editJSON(t, filepath.Join(model, "preprocessor_config.json"), func(m map[string]any) { m["merge_size"] = 1 })
	e, err := NewEngine(EngineConfig{ModelDir: model})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	want, err := qwen2vl.ReadGeometry(model)
	if err != nil {
		t.Fatal(err)
	}
	if e.geom != want || e.geom.MergeSize != 1 || e.geom.PatchDim != 1176 || e.cfg.ImagePadID != int64(want.ImageTokenID) {
		t.Fatalf("engine geometry %+v (image pad %d), want %+v with merge 1", e.geom, e.cfg.ImagePadID, want)
	}
	editJSON(t, cfgPath, func(m map[string]any) { delete(m, "image_token_id") })
	_, err = NewEngine(EngineConfig{ModelDir: model})
	if err == nil || !strings.Contains(err.Error(), cfgPath) || !strings.Contains(err.Error(), "image_token_id") {
		t.Fatalf("config.json without image_token_id: err %v, want one naming %s and image_token_id", err, cfgPath)
	}
}
