package tokenizer

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// qwen2VLAdded are the 14 Qwen2-VL added tokens, in id order.
var qwen2VLAdded = func() []AddedToken {
	var out []AddedToken
	for _, s := range []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
		"<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>",
		"<|vision_pad|>", "<|image_pad|>", "<|video_pad|>"} {
		out = append(out, AddedToken{Content: s, Special: true})
	}
	return out
}()

func trainSmall(t testing.TB, vocab int, added []AddedToken) (*Tokenizer, []byte) {
	t.Helper()
	corpus := conformanceCorpus()[:1500]
	b, err := Train(corpus, vocab, added)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := LoadBytes(b)
	if err != nil {
		t.Fatalf("LoadBytes(trained): %v", err)
	}
	return tok, b
}

func TestTrainLayout(t *testing.T) {
	added := append(append([]AddedToken(nil), qwen2VLAdded...), AddedToken{Content: "<think>"})
	tok, b := trainSmall(t, 300, added)
	if got, want := tok.VocabSize(), 300+len(added); got != want {
		t.Fatalf("VocabSize = %d, want %d", got, want)
	}
	for _, c := range []struct {
		tok string
		id  int
	}{{"!", 0}, {"~", 93}, {"¡", 94}, {"Ā", 188}, {"Ċ", 198}, {"Ġ", 220}, {"ġ", 221}, {"Ń", 255}} {
		if id, ok := tok.TokenID(c.tok); !ok || id != c.id {
			t.Errorf("TokenID(%q) = %d, %v; want %d", c.tok, id, ok, c.id)
		}
	}
	for i, a := range added {
		id, ok := tok.TokenID(a.Content)
		if !ok || id != 300+i || tok.IsSpecial(id) != a.Special {
			t.Errorf("added %q: id %d ok %v special %v", a.Content, id, ok, tok.IsSpecial(id))
		}
	}
	if got := tok.Encode("<|im_start|>user\n<|image_pad|><|image_pad|>"); got[0] != 301 || got[len(got)-1] != 312 || got[len(got)-2] != 312 {
		t.Errorf("chat specials: %v", got)
	}
	// Deterministic bytes.
	_, b2 := trainSmall(t, 300, added)
	if !bytes.Equal(b, b2) {
		t.Error("Train is not deterministic")
	}
	var f map[string]any
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if f["normalizer"].(map[string]any)["type"] != "NFC" {
		t.Errorf("normalizer %v", f["normalizer"])
	}
}

// TestTrainHandWorked checks the merge order on a corpus small enough to
// count by hand: pieces "aaab" ×1 and " ab" ×2 ("aaab ab ab").
// Pair counts: (a,a)=2, (a,b)=3, (Ġ,a)=2 → first merge a+b; then the words
// are [a a ab] ×1 and [Ġ ab] ×2: (a,a)=1, (a,ab)=1, (Ġ,ab)=2 → Ġ+ab; then
// (a,a)=1 and (a,ab)=1 tie: smaller left id (a) then smaller right id
// (a=64 < ab=256) → a+a.
func TestTrainHandWorked(t *testing.T) {
	b, err := Train([]string{"aaab ab ab"}, 259, nil)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Model struct {
			Vocab  map[string]int `json:"vocab"`
			Merges [][2]string    `json:"merges"`
		} `json:"model"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	want := [][2]string{{"a", "b"}, {"Ġ", "ab"}, {"a", "a"}}
	if len(f.Model.Merges) != 3 {
		t.Fatalf("merges %v, want %v", f.Model.Merges, want)
	}
	for i := range want {
		if f.Model.Merges[i] != want[i] {
			t.Fatalf("merges %v, want %v", f.Model.Merges, want)
		}
	}
	if f.Model.Vocab["ab"] != 256 || f.Model.Vocab["Ġab"] != 257 || f.Model.Vocab["aa"] != 258 {
		t.Errorf("vocab of merges: %v %v %v", f.Model.Vocab["ab"], f.Model.Vocab["Ġab"], f.Model.Vocab["aa"])
	}
	tok, err := LoadBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	// "aaab": a+b first → [a a ab], then a+a → [aa ab].
	if got := tok.Encode("aaab ab"); !equalInts(got, []int{258, 256, 257}) {
		t.Errorf("Encode = %v, want [258 256 257]", got)
	}
	// Runs out of pairs before the requested size.
	b, err = Train([]string{"ab"}, 1000, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ = LoadBytes(b)
	if tok.VocabSize() != 257 {
		t.Errorf("VocabSize = %d, want 257", tok.VocabSize())
	}
}

func TestTrainErrors(t *testing.T) {
	for _, c := range []struct {
		vocab int
		added []AddedToken
		want  string
	}{
		{255, nil, "below the 256"},
		{300, []AddedToken{{Content: ""}}, "empty content"},
		{300, []AddedToken{{Content: "<x>"}, {Content: "<x>", Special: true}}, "listed twice"},
	} {
		if _, err := Train([]string{"x"}, c.vocab, c.added); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Train(%d, %v) error %v, want %q", c.vocab, c.added, err, c.want)
		}
	}
}

// TestTrainedConformanceJS: a trained tokenizer.json loads in the JS
// reference and gives the same ids and decodings as Go.
func TestTrainedConformanceJS(t *testing.T) {
	node := requireNode(t)
	added := append(append([]AddedToken(nil), qwen2VLAdded...), AddedToken{Content: "<think>"}, AddedToken{Content: "Ω\u0301"})
	tok, b := trainSmall(t, 700, added)
	path := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	corpus := conformanceCorpus()
	corpus = append(corpus[:600:600], corpus[len(corpus)-900:]...)
	corpus = append(corpus, "x Ω\u0301 Ώ <think>ok</think>", "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>hi<|im_end|>")
	compareWithReference(t, node, path, tok, corpus, randomIDSequences(tok, 200))
}
