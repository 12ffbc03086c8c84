package qwen2vl

import (
	"slices"
	"strings"
	"testing"
)

var qwenTokens = specialTokens{imagePad: 151655, visionStart: 151652, visionEnd: 151653, pad: 151643, merge: 2}

// demoIDs is the MedVLM-R1 demo prompt before image-pad expansion
// (docs/reference/qwen2vl.md#golden-ids, 137 ids).
var demoIDs = []int{151644, 8948, 198, 2610, 525, 264, 10950, 17847, 13, 151645, 198, 151644, 872, 198, 151652, 151655, 151653, 198, 262,
	3555, 646, 387, 13166, 304, 419, 2168, 5267, 32, 8, 910, 2111, 3461, 34563, 487, 198, 33, 8, 45601, 17457, 4709, 198,
	34, 8, 23153, 859, 530, 62481, 18003, 198, 35, 8, 98178, 2838, 17576, 715, 262, 4615, 3383, 25, 715, 262, 220, 16, 13,
	21149, 1526, 279, 3405, 3019, 553, 3019, 11, 3209, 1469, 697, 32711, 1882, 304, 366, 26865, 29, 26418, 26865, 29, 9492,
	13, 715, 262, 220, 17, 13, 5005, 3410, 279, 4396, 3175, 79368, 5754, 320, 32, 11, 425, 11, 356, 11, 422, 28675, 8, 4766,
	366, 9217, 29, 26418, 9217, 29, 9492, 624, 262, 220, 18, 13, 2308, 4960, 1995, 476, 1467, 4889, 315, 1493, 9492, 624,
	257, 151645, 198, 151644, 77091, 198}

func ones(n int) []int64 {
	m := make([]int64, n)
	for i := range m {
		m[i] = 1
	}
	return m
}

func toI64(ids []int) []int64 {
	out := make([]int64, len(ids))
	for i, v := range ids {
		out[i] = int64(v)
	}
	return out
}

// Golden: docs/reference/qwen2vl.md#golden-example (224×224 image,
// grid [1,16,16], 64 pads, S=200; HF get_rope_index).
func TestRopeIndexDemoGolden(t *testing.T) {
	if len(demoIDs) != 137 {
		t.Fatalf("demo ids: %d", len(demoIDs))
	}
	ids, err := expandImagePads(demoIDs, qwenTokens.imagePad, []int{64})
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 200 {
		t.Fatalf("expanded length %d, want 200", len(ids))
	}
	pos, d, err := ropeIndex(toI64(ids), ones(200), 1, 200, [][3]int64{{1, 16, 16}}, qwenTokens)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int][3]int64{
		0: {0, 0, 0}, 13: {13, 13, 13}, 14: {14, 14, 14}, 15: {15, 15, 15}, 16: {15, 15, 16}, 22: {15, 15, 22},
		23: {15, 16, 15}, 24: {15, 16, 16}, 78: {15, 22, 22}, 79: {23, 23, 23}, 80: {24, 24, 24}, 199: {143, 143, 143},
	}
	for s, w := range want {
		got := [3]int64{pos[s], pos[200+s], pos[400+s]}
		if got != w {
			t.Errorf("position %d: got %v want %v", s, got, w)
		}
	}
	if d[0] != -56 {
		t.Errorf("rope delta %d, want -56", d[0])
	}
	if first := int64(200) + d[0]; first != 144 {
		t.Errorf("first decode position %d, want 144", first)
	}
}

// Golden: docs/reference/transformers-js.md#golden-case: 56 ids, 34 text
// tokens, a [1,4,6] image
// (6 pads) then 16 text tokens; delta -3, first decode position 53.
func tjsCase1() []int {
	ids := make([]int, 0, 56)
	for i := 0; i < 33; i++ {
		ids = append(ids, 10+i)
	}
	ids = append(ids, qwenTokens.visionStart)
	for range 6 {
		ids = append(ids, qwenTokens.imagePad)
	}
	ids = append(ids, qwenTokens.visionEnd)
	for len(ids) < 56 {
		ids = append(ids, 20)
	}
	return ids
}

func TestRopeIndexTJSCase1(t *testing.T) {
	ids := tjsCase1()
	pos, d, err := ropeIndex(toI64(ids), ones(56), 1, 56, [][3]int64{{1, 4, 6}}, qwenTokens)
	if err != nil {
		t.Fatal(err)
	}
	for s := 0; s < 34; s++ {
		if pos[s] != int64(s) || pos[56+s] != int64(s) || pos[112+s] != int64(s) {
			t.Fatalf("text position %d wrong", s)
		}
	}
	if got := pos[34:40]; !slices.Equal(got, []int64{34, 34, 34, 34, 34, 34}) {
		t.Errorf("t = %v", got)
	}
	if got := pos[56+34 : 56+40]; !slices.Equal(got, []int64{34, 34, 34, 35, 35, 35}) {
		t.Errorf("h = %v", got)
	}
	if got := pos[112+34 : 112+40]; !slices.Equal(got, []int64{34, 35, 36, 34, 35, 36}) {
		t.Errorf("w = %v", got)
	}
	for s := 40; s < 56; s++ {
		if pos[s] != int64(s-3) {
			t.Fatalf("trailing text position %d = %d, want %d", s, pos[s], s-3)
		}
	}
	if d[0] != -3 || 56+d[0] != 53 {
		t.Errorf("delta %d", d[0])
	}
}

// Left padding: a padded row keeps its unpadded positions; padded slots hold
// 1; delta shrinks by the pad count so decode positions are unchanged.
func TestRopeIndexLeftPadding(t *testing.T) {
	short := tjsCase1()
	long := append(slices.Clone(demoIDs[:14]), tjsCase1()...) // 70 ids, one image
	long = append(long, 5, 6, 7)                              // 73
	textOnly := []int{1, 2, 3}
	rows := [][]int{short, long, textOnly}
	ids, mask, S := leftPad(rows, qwenTokens.pad)
	if S != 73 {
		t.Fatalf("S = %d", S)
	}
	grids := [][3]int64{{1, 4, 6}, {1, 4, 6}}
	pos, d, err := ropeIndex(ids, mask, 3, S, grids, qwenTokens)
	if err != nil {
		t.Fatal(err)
	}
	for b, r := range rows {
		single, sd, err := ropeIndex(toI64(r), ones(len(r)), 1, len(r), grids[:min(b+1, 2)][min(b, 1):min(b+1, 2)], qwenTokens)
		if b == 2 {
			single, sd, err = ropeIndex(toI64(r), ones(len(r)), 1, len(r), nil, qwenTokens)
		}
		if err != nil {
			t.Fatal(err)
		}
		p := S - len(r)
		for ax := 0; ax < 3; ax++ {
			for s := 0; s < S; s++ {
				got := pos[ax*3*S+b*S+s]
				want := int64(1)
				if s >= p {
					want = single[ax*len(r)+s-p]
				}
				if got != want {
					t.Fatalf("row %d axis %d slot %d: got %d want %d", b, ax, s, got, want)
				}
			}
		}
		if d[b] != sd[0]-int64(p) {
			t.Errorf("row %d delta %d, want %d", b, d[b], sd[0]-int64(p))
		}
		if int64(S)+d[b] != int64(len(r))+sd[0] {
			t.Errorf("row %d first decode position differs under padding", b)
		}
	}
	// the text-only row: positions 0,1,2 then delta = 3 - 73
	if d[2] != 3-73 {
		t.Errorf("text-only delta %d", d[2])
	}
}

func TestRopeIndexErrors(t *testing.T) {
	ids := tjsCase1()
	for _, tc := range []struct {
		name  string
		grids [][3]int64
		msg   string
	}{
		{"too few grids", nil, "more images"},
		{"too many grids", [][3]int64{{1, 4, 6}, {1, 4, 4}}, "2 image grids"},
		{"count mismatch", [][3]int64{{1, 4, 4}}, "image tokens"},
		{"odd grid", [][3]int64{{1, 3, 6}}, "bad image grid"},
	} {
		_, _, err := ropeIndex(toI64(ids), ones(56), 1, 56, tc.grids, qwenTokens)
		if err == nil || !strings.Contains(err.Error(), tc.msg) || !strings.HasPrefix(err.Error(), "qwen2vl: ") {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestChatPromptAndExpand(t *testing.T) {
	got := ChatPrompt("Q?", 1)
	want := "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>Q?<|im_end|>\n<|im_start|>assistant\n"
	if got != want {
		t.Fatalf("got %q", got)
	}
	if g := ChatPrompt("x", 2); strings.Count(g, "<|image_pad|>") != 2 || !strings.Contains(g, "<|vision_end|><|vision_start|>") {
		t.Fatalf("two images: %q", g)
	}
	out, err := expandImagePads([]int{1, 9, 2, 9, 3}, 9, []int{2, 3})
	if err != nil || !slices.Equal(out, []int{1, 9, 9, 2, 9, 9, 9, 3}) {
		t.Fatalf("%v %v", out, err)
	}
	if _, err := expandImagePads([]int{1, 9, 9}, 9, []int{2}); err == nil {
		t.Fatal("extra pad must fail")
	}
	ids, mask, S := leftPad([][]int{{1, 2}, {3}}, 0)
	if S != 2 || !slices.Equal(ids, []int64{1, 2, 0, 3}) || !slices.Equal(mask, []int64{1, 1, 0, 1}) {
		t.Fatalf("leftPad %v %v", ids, mask)
	}
}
