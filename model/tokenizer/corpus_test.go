package tokenizer

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/medbench/medbench/datasets"
)

// The conformance corpus: deterministic (seeded PCG), ≥ 5,000 strings that
// exercise every branch of the pre-tokenizer, the added-token splitter, NFC
// and the BPE merge loop.

var (
	corpusModalities = []string{"MRI", "CT", "X-ray", "ultrasound", "PET-CT", "OCT", "dermoscopy", "fundus photograph", "microscopy"}
	corpusOrgans     = []string{"knee", "brain", "chest", "liver", "kidney", "lumbar spine", "shoulder", "pancreas", "heart", "retina", "hip joint"}
	corpusFindings   = []string{"Chondral abnormality", "Bone density loss", "Synovial cyst formation", "Ligament tear",
		"Pleural effusion", "Pneumothorax", "Hepatic steatosis", "Renal calculus", "Meniscal tear", "Glioblastoma",
		"Subdural hematoma", "Cardiomegaly", "Normal study", "Osteophyte formation", "Diabetic retinopathy", "Acute appendicitis"}
	corpusQuestions = []string{"What can be observed in this image?", "Which abnormality is visible in the %s %s?",
		"What is the most likely diagnosis based on this %s of the %s?", "Is there any sign of pathology in the %s?",
		"WHAT DOES THE %s SHOW?", "which organ is imaged here", "Where's the lesion located? It's subtle, isn't it?",
		"The patient's %s %s: what's the finding they'd report?", "Identify the structure marked by the arrow (%s, %s)."}
	corpusWords = []string{"the", "patient", "presents", "with", "acute", "pain", "in", "right", "lower", "quadrant",
		"imaging", "shows", "hyperintense", "lesion", "T2-weighted", "sequence", "mm", "cm", "follow-up", "recommended",
		"co-morbidities", "e.g.", "i.e.", "vs.", "U.S.", "Dr.", "O'Brien", "naïve", "café", "résumé", "Straße", "Ærø",
		"İstanbul", "ǅemal", "ﬁnding", "Ωmega", "µg/dL", "℃", "×10⁹/L", "½", "Ⅻ", "²³", "٣٤", "१२", "１２３"}
	corpusCJK = []string{"这是一张膝关节的磁共振图像。", "患者主诉右下腹疼痛三天", "胸部X线片显示右肺下叶实变",
		"診断は何ですか？", "この画像から何が観察できますか", "膝のMRI画像です。", "이 이미지에서 무엇을 관찰할 수 있습니까?",
		"뇌 CT 검사 결과", "ｶﾀｶﾅ半角テスト", "数字12345 和中文", "答案是：Ｂ", "𠀀𠀁𪜀𫝀𬺰𰀀"}
	corpusEmoji = []string{"🙂", "😀", "🩻", "🧠", "🫀", "🫁", "🦴", "👨‍⚕️", "👩‍👩‍👧‍👦", "👍🏽", "🇺🇸", "🇯🇵", "🏳️‍🌈", "1️⃣", "#️⃣",
		"❤️", "🤖🚀", "👨‍👩‍👧", "🧑🏿‍🦰", "✅", "⚠️", "🔬", "💊", "🩺", "🫶🏻"}
	corpusSpaces = []string{" ", "  ", "   ", "\t", "\t\t", "\n", "\n\n", "\r\n", "\r", "\r\n\r\n", "\u00a0", "\u3000",
		"\u0085", "\u2028", "\u2029", "\v", "\f", " \n", "\n ", " \t ", "\u2003", "\u202f", "\u1680", "\u200b", "\ufeff", "    "}
	corpusContractions = []string{"'s", "'S", "'t", "'T", "'re", "'RE", "'Re", "'rE", "'ve", "'VE", "'m", "'M", "'ll",
		"'LL", "'Ll", "'d", "'D", "'ſ", "'", "''", "’s", "'x", "'sa", "'lll", "'rev"}
	corpusNonNFC = []string{"e\u0301", "a\u0308", "o\u0302\u0323", "o\u0323\u0302", "A\u030a", "\u212b", "\u2126",
		"\u1100\u1161\u11a8", "\u1112\u1161\u11ab", "n\u0303", "c\u0327", "\u0041\u0301\u0301", "\u0915\u093c",
		"\u05d1\u05bc", "u\u0308\u0301", "\u00c5\u0323", "\u0301start", "s\u0323\u0307", "\u1e9b\u0323", "\u0344",
		"<\u0338", ">\u0338", "=\u0338", "\u0f73", "\u2adc", "\U0001d15e", "\u30ab\u3099", "\u304b\u309a"}
	corpusSpecials = []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
		"<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>",
		"<|vision_pad|>", "<|image_pad|>", "<|video_pad|>", "<think>", "</think>", "<tool_call>", "<|im_start",
		"<|im_end", "|>", "<|", "<|image_pad|", "<<|im_end|>>", "<|im_start|><|im_start|>", "<answer>", "</answer>"}
	corpusPunct = []string{".", ",", "!", "?", ":", ";", "(", ")", "[", "]", "{", "}", "-", "--", "—", "–", "...", "…",
		"\"", "'", "`", "/", "\\", "@", "#", "$", "%", "^", "&", "*", "_", "+", "=", "<", ">", "|", "~", "«", "»", "„",
		"“", "”", "‘", "’", "§", "°", "±", "·", "•", "€", "£", "¥", "©", "®", "™", "→", "≤", "≥", "≠", "√", "∞"}
)

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// randomRune returns a Unicode scalar value: weighted towards interesting
// ranges, sometimes anywhere (including unassigned code points).
func randomRune(r *rand.Rand) rune {
	switch r.IntN(10) {
	case 0:
		return rune(r.IntN(0x80))
	case 1:
		return rune(0x80 + r.IntN(0x780)) // Latin-1 .. Arabic, combining marks
	case 2:
		return rune(0x4e00 + r.IntN(0x5200)) // CJK
	case 3:
		return rune(0x1f300 + r.IntN(0x700)) // emoji and symbols
	case 4:
		return rune(0x300 + r.IntN(0x70)) // combining diacritics
	case 5:
		return pick(r, []rune("\t\n\v\f\r \u0085\u00a0\u1680\u2000\u2001\u2002\u200a\u2028\u2029\u202f\u205f\u3000\u180e\u200b\ufeff"))
	case 6:
		return rune(0x20000 + r.IntN(0x12000)) // CJK extensions B..J
	case 7:
		return rune(0x10000 + r.IntN(0x1f000)) // SMP: scripts, marks added in recent Unicode versions
	}
	for {
		c := rune(r.IntN(0x110000))
		if c < 0xd800 || c > 0xdfff {
			return c
		}
	}
}

func medicalQuestion(r *rand.Rand) string {
	q := pick(r, corpusQuestions)
	if n := strings.Count(q, "%s"); n > 0 {
		args := []any{pick(r, corpusModalities), pick(r, corpusOrgans)}
		q = fmt.Sprintf(q, args[:n]...)
	}
	var b strings.Builder
	b.WriteString(q)
	letters := "ABCDEF"
	for i := range 2 + r.IntN(4) {
		sep := pick(r, []string{") ", ". ", ": ", ")", " - "})
		fmt.Fprintf(&b, "\n%c%s%s", letters[i], sep, pick(r, corpusFindings))
	}
	return b.String()
}

func chatPrompt(text string, pads int) string {
	return "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n<|vision_start|>" +
		strings.Repeat("<|image_pad|>", pads) + "<|vision_end|>" + text + "<|im_end|>\n<|im_start|>assistant\n"
}

// randomMix concatenates n fragments drawn from every category.
func randomMix(r *rand.Rand, n int) string {
	var b strings.Builder
	for range n {
		switch r.IntN(12) {
		case 0:
			b.WriteString(pick(r, corpusWords))
		case 1:
			b.WriteString(pick(r, corpusSpaces))
		case 2:
			b.WriteString(pick(r, corpusContractions))
		case 3:
			b.WriteString(pick(r, corpusPunct))
		case 4:
			b.WriteString(pick(r, corpusCJK))
		case 5:
			b.WriteString(pick(r, corpusEmoji))
		case 6:
			b.WriteString(pick(r, corpusNonNFC))
		case 7:
			fmt.Fprintf(&b, "%d", r.IntN(100000))
		case 8:
			b.WriteRune(randomRune(r))
		case 9:
			b.WriteString(pick(r, corpusSpecials))
		case 10:
			b.WriteString(strings.ToUpper(pick(r, corpusWords)))
		default:
			b.WriteString(" " + pick(r, corpusWords))
		}
	}
	return b.String()
}

// conformanceCorpus returns the deterministic test corpus.
func conformanceCorpus() []string {
	r := rand.New(rand.NewPCG(20250219, 2502_19634))
	var out []string
	add := func(s string) { out = append(out, s) }

	// Fixed cases: goldens from docs/reference/qwen2vl.md#tokenizer and
	// edge cases.
	for _, s := range []string{
		"", "Hello world", "I'M here, it's 2024!", "  leading  double   spaces", "a\n\n  b", "x \n y", "tab\there",
		"(hello) [x]", "end   ", "\n    What", "\u00a0nbsp word", "Hello, world! It's 2024.",
		"  leading spaces and  double  spaces\n\nnew lines\r\n", "<think>\nreasoning\n</think>\n<answer>A</answer>",
		"数字12345 和中文", "café naïve 🙂", " ", "  ", "\n", "\r\n", " \r\n ", "\t \t", "\u3000\u3000x", "a\u0085b",
		"a\u2028 b", "x\u00a0\u00a0y", "'", "''s", "'S'T'RE'VE'M'LL'D", "don't DON'T Don'T we'll WE'LL",
		strings.Repeat("a", 300), strings.Repeat(" ", 300) + "x", strings.Repeat("\n", 50), strings.Repeat("ab", 200),
		strings.Repeat("中", 200), strings.Repeat("9", 50), strings.Repeat("!?", 150), strings.Repeat("🙂", 80),
		strings.Repeat("e\u0301", 100), "a" + strings.Repeat("\u0301", 40), "x" + strings.Repeat("\u0301\u0323\u0308", 15) + "y",
		strings.Repeat("\u0344", 20), "\u1f82" + strings.Repeat("\u0345\u0300", 16), "<|im_start|>", "<|im_start|><|im_end|>", "<|im_start", "<<|endoftext|>>",
	} {
		add(s)
	}
	// Medical questions and the seed's prompts, plain and in the chat template.
	for _, name := range []string{"simple", "complex", "train"} {
		tmpl, err := datasets.BuiltinTemplate(name)
		if err != nil {
			panic(err)
		}
		for range 150 {
			q := medicalQuestion(r)
			add(q)
			add(tmpl.Render(q))
			add(chatPrompt(tmpl.Render(q), r.IntN(5)))
		}
	}
	for range 300 {
		add(medicalQuestion(r))
	}
	// CJK, emoji, whitespace runs, digits, contractions, non-NFC.
	for range 300 {
		var b strings.Builder
		for range 1 + r.IntN(5) {
			b.WriteString(pick(r, corpusCJK))
			if r.IntN(2) == 0 {
				b.WriteString(pick(r, corpusSpaces))
			}
		}
		add(b.String())
	}
	for range 300 {
		var b strings.Builder
		for range 1 + r.IntN(6) {
			b.WriteString(pick(r, corpusEmoji))
			if r.IntN(3) == 0 {
				b.WriteString(pick(r, corpusSpaces) + pick(r, corpusWords))
			}
		}
		add(b.String())
	}
	for range 500 {
		var b strings.Builder
		for range 1 + r.IntN(8) {
			for range 1 + r.IntN(4) {
				b.WriteString(pick(r, corpusSpaces))
			}
			if r.IntN(4) > 0 {
				b.WriteString(pick(r, append(corpusWords, corpusPunct...)))
			}
		}
		add(b.String())
	}
	for range 300 {
		var b strings.Builder
		for range 1 + r.IntN(6) {
			switch r.IntN(4) {
			case 0:
				fmt.Fprintf(&b, "%d", r.Int64N(1e12))
			case 1:
				fmt.Fprintf(&b, "%.3f", r.Float64()*1000)
			case 2:
				fmt.Fprintf(&b, "%d/%02d/%02d", 1990+r.IntN(40), 1+r.IntN(12), 1+r.IntN(28))
			default:
				b.WriteString(pick(r, []string{"٣٤٥", "१२३", "１２３", "²", "½", "Ⅻ", "⑦", "𝟗"}))
			}
			b.WriteString(pick(r, []string{" ", "", "mm", " mg", "%", ", "}))
		}
		add(b.String())
	}
	for range 400 {
		var b strings.Builder
		for range 1 + r.IntN(6) {
			b.WriteString(pick(r, []string{"", " ", "x", "IT", "we", "\n"}))
			b.WriteString(pick(r, corpusContractions))
			b.WriteString(pick(r, []string{"", " ", "s", "t", "a", "\n", "'", "1"}))
		}
		add(b.String())
	}
	for range 300 {
		var b strings.Builder
		for range 1 + r.IntN(6) {
			b.WriteString(pick(r, corpusNonNFC))
			b.WriteString(pick(r, []string{"", " ", "a", "\u0301", "\u0323", "\u0302", "<|im_end|>"}))
		}
		add(b.String())
	}
	// Characters newer than Go's Unicode tables that normalisation must know
	// (combining classes, decompositions, compositions), mixed with old marks.
	recent := append([]rune{0x0301, 0x0307, 0x0323, 0x0332, 'a', ' '}, normTrigger...)
	for _, c := range newCompose {
		recent = append(recent, c.a, c.b)
	}
	for range 300 {
		rs := make([]rune, 1+r.IntN(8))
		for i := range rs {
			if r.IntN(3) > 0 {
				rs[i] = pick(r, recent)
			} else {
				rs[i] = randomRune(r)
			}
		}
		add(string(rs))
	}
	// Random mixes and random code points.
	for range 1000 {
		add(randomMix(r, 1+r.IntN(12)))
	}
	for range 800 {
		rs := make([]rune, 1+r.IntN(16))
		for i := range rs {
			rs[i] = randomRune(r)
		}
		add(string(rs))
	}
	return out
}
