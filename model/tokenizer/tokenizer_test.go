package tokenizer

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
	"golang.org/x/text/unicode/norm"
)

// Golden splits from docs/reference/qwen2vl.md#golden-pre-tokenizer-splits
// (computed with Python's regex module) and further cases checked with regexp2.
func TestSplitGolden(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"Hello world", []string{"Hello", " world"}},
		{"I'M here, it's 2024!", []string{"I", "'M", " here", ",", " it", "'s", " ", "2", "0", "2", "4", "!"}},
		{"  leading  double   spaces", []string{" ", " leading", " ", " double", "  ", " spaces"}},
		{"a\n\n  b", []string{"a", "\n\n", " ", " b"}},
		{"x \n y", []string{"x", " \n", " y"}},
		{"tab\there", []string{"tab", "\there"}},
		{"(hello) [x]", []string{"(hello", ")", " [", "x", "]"}},
		{"end   ", []string{"end", "   "}},
		{"\n    What", []string{"\n", "   ", " What"}},
		{"\u00a0nbsp word", []string{"\u00a0nbsp", " word"}},
		{"Hello world! It's 2024, I'VE got 12345 apples.", strings.Split("Hello| world|!| It|'s| |2|0|2|4|,| I|'VE| got| |1|2|3|4|5| apples|.", "|")},
		{"你好，世界！我爱北京天安门。", []string{"你好", "，世界", "！我爱北京天安门", "。"}},
		{"emoji 🤖🚀 test 👨‍👩‍👧 done", []string{"emoji", " 🤖🚀", " test", " 👨‍👩‍👧", " done"}},
		{"  leading spaces\n\n\ttabs   and trailing   ", []string{" ", " leading", " spaces", "\n\n", "\ttabs", "  ", " and", " trailing", "   "}},
		{"mixed中文English123混合", []string{"mixed中文English", "1", "2", "3", "混合"}},
		{"", nil},
	} {
		if got := splitQwen2(nil, c.in); fmt.Sprintf("%q", got) != fmt.Sprintf("%q", c.want) {
			t.Errorf("split(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

// TestSplitMatchesRegexp2 checks the hand-written splitter against the
// pattern run by a backtracking engine with lookahead (regexp2, .NET
// semantics: its \s is the same set as White_Space), on random strings over
// an alphabet chosen to hit every branch. Characters whose class changed
// after Go's Unicode version are left out (regexp2 uses Go's tables).
func TestSplitMatchesRegexp2(t *testing.T) {
	re := regexp2.MustCompile(qwen2Pattern, regexp2.Unicode)
	alphabet := []rune("sStTdDmMlLrReEvVaxZ'’ 0129٣Ⅻ½\t\n\r\v\f\u0085\u00a0\u1680\u2003\u2028\u2029\u202f\u205f\u3000\u200b\ufeff.,!?()<|>-_中ßé\u0301🤖\u200d")
	r := newTestRand(3)
	n := 20000
	if testing.Short() {
		n = 2000
	}
	for range n {
		rs := make([]rune, 1+r.IntN(14))
		for i := range rs {
			rs[i] = alphabet[r.IntN(len(alphabet))]
		}
		s := string(rs)
		var want []string
		m, err := re.FindStringMatch(s)
		for ; m != nil && err == nil; m, err = re.FindNextMatch(m) {
			want = append(want, m.String())
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := splitQwen2(nil, s); fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
			t.Fatalf("split(%q)\n got %q\nwant %q (regexp2)", s, got, want)
		}
	}
}

func TestByteLevelMap(t *testing.T) {
	for _, c := range []struct {
		b byte
		r rune
	}{{0x00, 'Ā'}, {'\t', 'ĉ'}, {'\n', 'Ċ'}, {'\r', 'č'}, {' ', 'Ġ'}, {'!', '!'}, {'~', '~'}, {0x7F, 'ġ'}, {0x80, 'Ģ'}, {0xA0, 'ł'}, {0xA1, '¡'}, {0xAC, '¬'}, {0xAD, 'Ń'}, {0xAE, '®'}, {0xFF, 'ÿ'}} {
		if got := byteToRune[c.b]; got != c.r {
			t.Errorf("byteToRune[%#x] = %U, want %U", c.b, got, c.r)
		}
	}
	seen := map[rune]bool{}
	for b := range 256 {
		r := byteToRune[b]
		if seen[r] || runeToByte[r] != int16(b) {
			t.Fatalf("byte %#x: not a bijection", b)
		}
		seen[r] = true
	}
}

// WHATWG / Python errors="replace" decoding: one U+FFFD per maximal subpart.
func TestAppendDecodedUTF8(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string
	}{
		{"\xe2\x82\x41", "\uFFFDA"},
		{"\xff\xfe\x41", "\uFFFD\uFFFDA"},
		{"\xf0\x9f\x99\x41", "\uFFFDA"},
		{"\xf0\x9f\x99\x82", "🙂"},
		{"\xe2\x82", "\uFFFD"},
		{"\xed\xa0\x80", "\uFFFD\uFFFD\uFFFD"}, // surrogate
		{"\xc0\x80", "\uFFFD\uFFFD"},           // overlong
		{"\xe0\x80\x80", "\uFFFD\uFFFD\uFFFD"}, // overlong
		{"\xf4\x90\x80\x80", "\uFFFD\uFFFD\uFFFD\uFFFD"},
		{"\xf5\x80", "\uFFFD\uFFFD"},
		{"\x80\x80", "\uFFFD\uFFFD"},
		{"\xef\xbb\xbfx", "\ufeffx"}, // BOM kept
		{"a\xc3", "a\uFFFD"},
		{"\xc3\xa9\xe4\xb8\xad", "é中"},
	} {
		if got := string(appendDecodedUTF8(nil, []byte(c.in))); got != c.want {
			t.Errorf("decode(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestEncodeGolden(t *testing.T) {
	tok := qwenTokenizer(t)
	// Qwen token ids from docs/reference/qwen2vl.md#golden-ids
	// (@huggingface/tokenizers and public Qwen2 dumps).
	for _, c := range []struct {
		in   string
		want []int
	}{
		{"Hello world", []int{9707, 1879}},
		{"Hello, world! It's 2024.", []int{9707, 11, 1879, 0, 1084, 594, 220, 17, 15, 17, 19, 13}},
		{"  leading spaces and  double  spaces\n\nnew lines\r\n", []int{220, 6388, 12621, 323, 220, 1990, 220, 12621, 271, 931, 5128, 319}},
		{"数字12345 和中文", []int{82587, 16, 17, 18, 19, 20, 58143, 104811}},
		{"café naïve 🙂", []int{924, 58858, 94880, 586, 27484}},
		{"<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n<|vision_start|><|image_pad|><|image_pad|>",
			[]int{151644, 8948, 198, 2610, 525, 264, 10950, 17847, 13, 151645, 198, 151644, 872, 198, 151652, 151655, 151655}},
		{"", []int{}},
	} {
		if got := tok.Encode(c.in); !equalInts(got, c.want) {
			t.Errorf("Encode(%q)\n got %v\nwant %v", c.in, got, c.want)
		}
	}
	// The MedVLM-R1 demo prompt (docs/reference/qwen2vl.md#golden-ids):
	// 137 ids before image-pad expansion,
	// with Qwen2-VL's added tokens (<think> is plain text there).
	tok = qwen2VLTokenizer(t)
	q := "What can be observed in this image?\nA) Chondral abnormality\nB) Bone density loss\nC) Synovial cyst formation\nD) Ligament tear"
	text := "\n    " + q + " \n    Your task: \n    1. Think through the question step by step, enclose your reasoning process in <think>...</think> tags. \n    2. Then provide the correct single-letter choice (A, B, C, D,...) inside <answer>...</answer> tags.\n    3. No extra information or text outside of these tags.\n    "
	want := []int{151644, 8948, 198, 2610, 525, 264, 10950, 17847, 13, 151645, 198, 151644, 872, 198, 151652, 151655, 151653, 198, 262,
		3555, 646, 387, 13166, 304, 419, 2168, 5267, 32, 8, 910, 2111, 3461, 34563, 487, 198, 33, 8, 45601, 17457, 4709, 198,
		34, 8, 23153, 859, 530, 62481, 18003, 198, 35, 8, 98178, 2838, 17576, 715, 262, 4615, 3383, 25, 715, 262, 220, 16, 13,
		21149, 1526, 279, 3405, 3019, 553, 3019, 11, 3209, 1469, 697, 32711, 1882, 304, 366, 26865, 29, 26418, 26865, 29, 9492,
		13, 715, 262, 220, 17, 13, 5005, 3410, 279, 4396, 3175, 79368, 5754, 320, 32, 11, 425, 11, 356, 11, 422, 28675, 8, 4766,
		366, 9217, 29, 26418, 9217, 29, 9492, 624, 262, 220, 18, 13, 2308, 4960, 1995, 476, 1467, 4889, 315, 1493, 9492, 624,
		257, 151645, 198, 151644, 77091, 198}
	got := tok.Encode(chatPrompt(text, 1))
	if len(want) != 137 || !equalInts(got, want) {
		t.Errorf("MedVLM-R1 demo prompt: got %d ids %v", len(got), got)
	}
	// With 4 image pads the length is 136 + 4.
	if got := tok.Encode(chatPrompt(text, 4)); len(got) != 140 {
		t.Errorf("4 pads: %d ids, want 140", len(got))
	}
	dec := []int{13708, 766, 397, 262, 576, 2168, 374, 264, 23970, 56981, 31658, 320, 78670, 8, 8569, 315, 264, 21381, 10284, 624, 522, 26865, 1339, 27, 9217, 23465, 522, 9217, 29, 151645}
	if got, want := tok.Decode(dec, true), "<think>\n    The image is a magnetic resonance imaging (MRI) scan of a knee joint.\n</think>\n\n<answer>A</answer>"; got != want {
		t.Errorf("Decode(skip) = %q, want %q", got, want)
	}
	if got := tok.Decode(dec, false); !strings.HasSuffix(got, "</answer><|im_end|>") {
		t.Errorf("Decode(keep) = %q", got)
	}
}

// qwen2VLTokenizer is the real Qwen tokenizer with the added tokens above
// <|video_pad|> removed: Qwen2-VL's vocabulary (the reference goldens were
// computed the same way).
func qwen2VLTokenizer(t testing.TB) *Tokenizer {
	t.Helper()
	qwenTokenizer(t)
	b, err := os.ReadFile(qwenTokenizerPath)
	if err != nil {
		t.Fatal(err)
	}
	var f map[string]json.RawMessage
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	var added []map[string]any
	if err := json.Unmarshal(f["added_tokens"], &added); err != nil {
		t.Fatal(err)
	}
	var keep []map[string]any
	for _, a := range added {
		if a["id"].(float64) <= 151656 {
			keep = append(keep, a)
		}
	}
	if f["added_tokens"], err = json.Marshal(keep); err != nil {
		t.Fatal(err)
	}
	if b, err = json.Marshal(f); err != nil {
		t.Fatal(err)
	}
	tok, err := LoadBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	if tok.VocabSize() != 151657 {
		t.Fatalf("Qwen2-VL VocabSize = %d, want 151657", tok.VocabSize())
	}
	return tok
}

func TestTokenAccessors(t *testing.T) {
	tok := qwenTokenizer(t)
	for _, c := range []struct {
		s       string
		id      int
		special bool
	}{
		{"<|endoftext|>", 151643, true}, {"<|im_start|>", 151644, true}, {"<|im_end|>", 151645, true},
		{"<|vision_start|>", 151652, true}, {"<|image_pad|>", 151655, true}, {"<|video_pad|>", 151656, true},
		{"<think>", 151667, false}, {"system", 8948, false}, {"Ċ", 198, false}, {"Ġ", 220, false}, {"user", 872, false}, {"assistant", 77091, false},
	} {
		id, ok := tok.TokenID(c.s)
		if !ok || id != c.id || tok.IsSpecial(id) != c.special {
			t.Errorf("TokenID(%q) = %d, %v, special %v; want %d, %v", c.s, id, ok, tok.IsSpecial(id), c.id, c.special)
		}
		if s, ok := tok.Token(c.id); !ok || s != c.s {
			t.Errorf("Token(%d) = %q, %v; want %q", c.id, s, ok, c.s)
		}
	}
	if tok.VocabSize() != 151669 {
		t.Errorf("VocabSize = %d, want 151669 (151643 BPE + 26 added)", tok.VocabSize())
	}
	for _, id := range []int{-1, 151669, 1 << 40} {
		if _, ok := tok.Token(id); ok || tok.IsSpecial(id) {
			t.Errorf("Token(%d) exists", id)
		}
	}
	if _, ok := tok.TokenID("no such token"); ok {
		t.Error("TokenID of an unknown string")
	}
	if got := tok.Decode([]int{-5, 9707, 999999, 1879}, false); got != "Hello world" {
		t.Errorf("Decode with unknown ids = %q", got)
	}
}

// TestMergeHeapMatchesScan: both BPE loops give the same merges.
func TestMergeHeapMatchesScan(t *testing.T) {
	tok := qwenTokenizer(t)
	r := newTestRand(11)
	for range 300 {
		s := splitQwen2(nil, randomMix(r, 1+r.IntN(8)))[0]
		for len(s) < 40 {
			s += s
		}
		syms := make([]int32, len(s))
		for i := 0; i < len(s); i++ {
			syms[i] = tok.byteID[s[i]]
		}
		a := tok.mergeScan(append([]int32(nil), syms...))
		b := tok.mergeHeap(append([]int32(nil), syms...))
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Fatalf("piece %q: scan %v, heap %v", s, a, b)
		}
	}
	// Long pieces go through the heap in Encode; the cache is bypassed.
	long := strings.Repeat("pneumonoultramicroscopic", 20)
	if got := tok.Decode(tok.Encode(long), false); got != long {
		t.Errorf("long piece round trip: %q", got)
	}
}

// TestNFCExtendedMatchesXText: the UAX #15 implementation used for
// characters newer than x/text agrees with x/text on older characters.
func TestNFCExtendedMatchesXText(t *testing.T) {
	r := newTestRand(5)
	marks := []rune("\u0300\u0301\u0302\u0303\u0308\u0323\u0327\u0328\u0331\u0338\u0345\u05b0\u05bc\u093c\u094d\u0f71\u0f72\u0f80\u3099\u309a\u1161\u11a8\u0cd5\u0dca\u0dcf")
	bases := []rune("aeiouAEIOUcnsyzCNSY<>=\u1100\u1112\uac00\u0915\u05d1\u0b47\u0cc6\u0dd9\u304b\u30a6\u03a9\u0391\u1fbf\u00e9\u212b")
	for range 20000 {
		rs := make([]rune, 1+r.IntN(7))
		for i := range rs {
			if r.IntN(2) == 0 {
				rs[i] = marks[r.IntN(len(marks))]
			} else {
				rs[i] = bases[r.IntN(len(bases))]
			}
		}
		s := string(rs)
		if got, want := nfcExtended(s), norm.NFC.String(s); got != want {
			t.Fatalf("nfcExtended(%+q) = %+q, x/text %+q", s, got, want)
		}
	}
	// nfc applies the extended path segment-wise; it must equal applying it
	// to the whole string.
	recent := append([]rune("a é\u0301\u0323<中\u3099"), normTrigger...)
	for _, c := range newCompose {
		recent = append(recent, c.a, c.b)
	}
	for range 20000 {
		rs := make([]rune, 1+r.IntN(12))
		for i := range rs {
			switch r.IntN(3) {
			case 0:
				rs[i] = marks[r.IntN(len(marks))]
			case 1:
				rs[i] = bases[r.IntN(len(bases))]
			default:
				rs[i] = recent[r.IntN(len(recent))]
			}
		}
		s := string(rs)
		if got, want := nfc(s), nfcExtended(s); got != want {
			t.Fatalf("nfc(%+q) = %+q, nfcExtended %+q", s, got, want)
		}
	}
	// Long runs of combining marks: ICU reorders them all, x/text would break
	// them with U+034F after 30 non-starters.
	for range 200 {
		rs := []rune{bases[r.IntN(len(bases))]}
		for range 8 + r.IntN(60) {
			rs = append(rs, marks[r.IntN(len(marks))])
		}
		s := string(rs)
		got := nfc(s)
		if strings.ContainsRune(got, '\u034f') || got != nfcExtended(s) {
			t.Fatalf("nfc(%+q) = %+q", s, got)
		}
	}
	// A Unicode 16 composition x/text does not know: TULU-TIGALARI
	// U+113C2 U+113C2 → U+113C5.
	if got := nfc("\U000113c2\U000113c2"); got != "\U000113c5" {
		t.Errorf("nfc(U+113C2 U+113C2) = %+q, want U+113C5", got)
	}
}

func TestEncodeInvalidUTF8(t *testing.T) {
	tok := qwenTokenizer(t)
	if got, want := tok.Encode("a\xffb\xe2\x82"), tok.Encode("a\uFFFDb\uFFFD"); !equalInts(got, want) {
		t.Errorf("Encode(invalid) = %v, want %v", got, want)
	}
}

func TestConcurrentEncode(t *testing.T) {
	tok := qwenTokenizer(t)
	corpus := conformanceCorpus()[:400]
	want := make([][]int, len(corpus))
	for i, s := range corpus {
		want[i] = tok.Encode(s)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for g := range 4 {
		wg.Go(func() {
			for i := range corpus {
				j := (i + g*97) % len(corpus)
				if got := tok.Encode(corpus[j]); !equalInts(got, want[j]) {
					errs <- fmt.Sprintf("goroutine %d: Encode(%q) differs", g, corpus[j])
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestLoadErrors(t *testing.T) {
	_, good := trainSmall(t, 260, qwen2VLAdded[:2])
	mutate := func(old, new string) []byte {
		s := string(good)
		if !strings.Contains(s, old) {
			t.Fatalf("trained file lacks %q", old)
		}
		return []byte(strings.Replace(s, old, new, 1))
	}
	for _, c := range []struct {
		name string
		b    []byte
		want string
	}{
		{"not json", []byte("{"), "parse tokenizer.json"},
		{"no model", []byte(`{"added_tokens":[]}`), "no model"},
		{"wordpiece", mutate(`"type": "BPE"`, `"type": "WordPiece"`), `model type "WordPiece"`},
		{"dropout", mutate(`"dropout": null`, `"dropout": 0.1`), "dropout"},
		{"unk", mutate(`"unk_token": null`, `"unk_token": "<unk>"`), "unk_token"},
		{"byte fallback", mutate(`"byte_fallback": false`, `"byte_fallback": true`), "byte_fallback"},
		{"suffix", mutate(`"end_of_word_suffix": ""`, `"end_of_word_suffix": "</w>"`), "end_of_word_suffix"},
		{"nfkc", mutate(`{"type": "NFC"}`, `{"type": "NFKC"}`), `normalizer "NFKC"`},
		{"pattern", mutate(`'s|'t|'re`, `'s|'re`), "split pattern"},
		{"use_regex", mutate(`"use_regex":false}]}`, `"use_regex":true}]}`), "ByteLevel without prefix space"},
		{"decoder", mutate(`"decoder": {"type":"ByteLevel"`, `"decoder": {"type":"Metaspace"`), `decoder "Metaspace"`},
		{"post", mutate(`"post_processor": {"type":"ByteLevel"`, `"post_processor": {"type":"TemplateProcessing"`), `post_processor "TemplateProcessing"`},
		{"lstrip", mutate(`"lstrip": false`, `"lstrip": true`), "lstrip"},
		{"merge not in vocab", mutate(`"merges": [`, `"merges": [["Ġ", "zzz"],`), "not in vocab"},
		{"missing byte", mutate(`"!": 0,`, `"!!": 0,`), "byte-level symbol"},
		{"duplicate id", mutate(`"\"": 1,`, `"\"": 0,`), "vocab id 0 is used by both"},
		{"added without id", mutate(`{"id": 260, `, `{`), "missing or invalid id"},
	} {
		_, err := LoadBytes(c.b)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "tokenizer: ") {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	if _, err := Load("/nonexistent/tokenizer.json"); err == nil || !strings.Contains(err.Error(), "/nonexistent/tokenizer.json") {
		t.Errorf("Load(missing) error %v", err)
	}
}

// stringMerges rewrites a tokenizer.json's merges to the pre-0.20 encoding
// ("a b" strings), optionally prepending extra entries.
func stringMerges(t testing.TB, b []byte, extra ...string) []byte {
	t.Helper()
	var f map[string]any
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	m := f["model"].(map[string]any)
	out := append([]any(nil), stringsToAny(extra)...)
	for _, p := range m["merges"].([]any) {
		pair := p.([]any)
		out = append(out, pair[0].(string)+" "+pair[1].(string))
	}
	m["merges"] = out
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func stringsToAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// TestMergesStringEncoding: the pre-0.20 "a b" merges encoding loads to the
// same tokenizer as the pair encoding.
func TestMergesStringEncoding(t *testing.T) {
	tok, b := trainSmall(t, 400, qwen2VLAdded)
	old, err := LoadBytes(stringMerges(t, b))
	if err != nil {
		t.Fatalf("string merges: %v", err)
	}
	for _, s := range conformanceCorpus()[:500] {
		if a, b := tok.Encode(s), old.Encode(s); !equalInts(a, b) {
			t.Fatalf("Encode(%q): pair merges %v, string merges %v", s, a, b)
		}
	}
	if _, err := LoadBytes(stringMerges(t, b, "a b c")); err == nil || !strings.Contains(err.Error(), `merges[0] "a b c"`) {
		t.Errorf("three-symbol merge: error %v", err)
	}
}

// FuzzEncodeDecode: for valid UTF-8 without added-token text,
// Decode(Encode(s)) == NFC(s). Uses the real Qwen tokenizer when installed,
// else one trained here.
func FuzzEncodeDecode(f *testing.F) {
	for _, s := range []string{"Hello world", "  a\n\n\tb ", "e\u0301", "'S'll", "数字12345", "👨‍👩‍👧", "\u3000\u0085x", "\U000113c2\U000113c2"} {
		f.Add(s)
	}
	var tok *Tokenizer
	if _, err := os.Stat(qwenTokenizerPath); err == nil {
		tok = qwenTokenizer(f)
	} else {
		tok, _ = trainSmall(f, 600, qwen2VLAdded)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) || hasAddedText(tok, s) {
			t.Skip()
		}
		if got, want := tok.Decode(tok.Encode(s), false), nfc(s); got != want {
			t.Fatalf("Decode(Encode(%+q)) = %+q, want %+q", s, got, want)
		}
	})
}
