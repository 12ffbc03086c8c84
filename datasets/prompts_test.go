package datasets

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The seed's templates as Python's repr() shows them
// (docs/reference/medvlm-r1-seed.md#prompts),
// decoded by hand: "\n" newlines, 4-space (eval) or 8-space (train) indents,
// trailing spaces after "{Question}", "Your task:" and instruction 1.
func TestSeedTemplatesByteForByte(t *testing.T) {
	nl, i4, i8 := "\n", "    ", "        "
	simple := nl + i4 + "{Question} " + nl + i4 + "Your task: provide the correct single-letter choice (A, B, C, D,...)." + nl + i4
	body := func(ind string) string {
		return nl + ind + "{Question} " + nl + ind + "Your task: " + nl +
			ind + "1. Think through the question step by step, enclose your reasoning process in <think>...</think> tags. " + nl +
			ind + "2. Then provide the correct single-letter choice (A, B, C, D,...) inside <answer>...</answer> tags." + nl +
			ind + "3. No extra information or text outside of these tags." + nl + ind
	}
	for _, c := range []struct{ name, want string }{{"simple", simple}, {"complex", body(i4)}, {"train", body(i8)}} {
		tp, err := BuiltinTemplate(c.name)
		if err != nil {
			t.Fatal(err)
		}
		if tp.Text != c.want {
			t.Errorf("%s template:\n got %q\nwant %q", c.name, tp.Text, c.want)
		}
	}
	// The rendered complex prompt of the seed's first test record
	// (docs/reference/medvlm-r1-seed.md#rendered-conversation).
	tp, _ := BuiltinTemplate("complex")
	problem := "What is apparent in this image?\nA) Hemorrhage\nB) Acute infarct\nC) Abscess formation\nD) Chronic infarct"
	want := "\n    What is apparent in this image?\nA) Hemorrhage\nB) Acute infarct\nC) Abscess formation\nD) Chronic infarct \n    Your task: \n    1. Think"
	if got := tp.Render(problem); !strings.HasPrefix(got, want) {
		t.Errorf("render: %q", got[:len(want)])
	}
}

func TestParseTemplate(t *testing.T) {
	if tp, err := ParseTemplate("short"); err != nil || tp.Render("Q?") != "Q?\nReply <think>...</think><answer>letter</answer>" {
		t.Errorf("short: %v %q", err, tp.Render("Q?"))
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "mine.txt")
	_ = os.WriteFile(good, []byte("Q: {Question}\nA:"), 0o644)
	if tp, err := ParseTemplate("mine=" + good); err != nil || tp.Name != "mine" || tp.Render("x") != "Q: x\nA:" {
		t.Errorf("custom: %v %+v", err, tp)
	}
	bad := filepath.Join(dir, "bad.txt")
	_ = os.WriteFile(bad, []byte("no placeholder"), 0o644)
	for _, spec := range []string{"nosuch", "x=" + bad, "x=" + filepath.Join(dir, "missing.txt")} {
		if _, err := ParseTemplate(spec); err == nil {
			t.Errorf("ParseTemplate(%q) accepted", spec)
		}
	}
}
