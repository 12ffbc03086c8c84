package datasets

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medbench/medbench/answer"
)

// The seed's templates keep the seed's scoring: simple's whole output is the
// answer; complex and train tag it. short tags it too.
func TestBuiltinTemplateFormats(t *testing.T) {
	for name, want := range map[string]answer.Format{"simple": answer.LetterOnly, "complex": answer.Tagged, "train": answer.Tagged, "short": answer.Tagged} {
		tp, err := BuiltinTemplate(name)
		if err != nil || tp.Format != want {
			t.Errorf("%s: format %v, %v; want %v", name, tp.Format, err, want)
		}
	}
}

func TestCustomTemplateFormat(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		name, text string
		format     answer.Format
		render     string
	}{
		{"undeclared", "Q: {Question}\nA:", answer.Tagged, "Q: x\nA:"},
		{"letter", "#answer-format: letter-only\nQ: {Question}\nOne letter:", answer.LetterOnly, "Q: x\nOne letter:"},
		{"spaced", "# answer-format:  tagged \r\n{Question} <answer>", answer.Tagged, "x <answer>"},
		{"bom", "\ufeff#answer-format: letter-only\n{Question}", answer.LetterOnly, "x"},
		{"other comment", "# a note\n{Question}", answer.Tagged, "# a note\nx"},
		{"not first line", "{Question}\n#answer-format: letter-only", answer.Tagged, "x\n#answer-format: letter-only"},
	} {
		p := write(c.name+".txt", c.text)
		tp, err := ParseTemplate("mine=" + p)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if tp.Name != "mine" || tp.Text != c.text || tp.Format != c.format || tp.Render("x") != c.render {
			t.Errorf("%s: got %+v rendering %q; want format %v rendering %q", c.name, tp, tp.Render("x"), c.format, c.render)
		}
		// The manifest records Text; the template it names comes back whole.
		back, err := RecordedTemplate(tp.Name, tp.Text)
		if err != nil || back != tp {
			t.Errorf("%s: RecordedTemplate = %+v, %v", c.name, back, err)
		}
	}
	for _, c := range []struct{ name, text, msg string }{
		{"unknown", "#answer-format: letter\n{Question}", `line 1: unknown answer format "letter" (known: tagged, letter-only)`},
		{"empty", "#answer-format:\n{Question}", `line 1: unknown answer format ""`},
		{"no placeholder", "#answer-format: tagged\nQuestion", "no {Question} placeholder"},
		{"placeholder only in declaration", "#answer-format: tagged {Question}\nQ", "no {Question} placeholder"},
	} {
		p := write(c.name+".txt", c.text)
		_, err := ParseTemplate("x=" + p)
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if msg := err.Error(); !strings.HasPrefix(msg, "datasets: prompt template "+p+": ") || !strings.Contains(msg, c.msg) || strings.Contains(msg, "\n") {
			t.Errorf("%s: error %q", c.name, msg)
		}
	}
}

func TestRecordedTemplate(t *testing.T) {
	for _, name := range []string{"simple", "complex", "train", "short"} {
		want, _ := BuiltinTemplate(name)
		if got, err := RecordedTemplate(name, want.Text); err != nil || got != want {
			t.Errorf("%s: %+v, %v", name, got, err)
		}
	}
	// A custom template named like a built-in one is custom: its own text,
	// its own declared format (tagged when none).
	simple, _ := BuiltinTemplate("simple")
	if got, err := RecordedTemplate("simple", simple.Text+" "); err != nil || got.Format != answer.Tagged {
		t.Errorf("custom simple: %+v, %v", got, err)
	}
	if _, err := RecordedTemplate("mine", "#answer-format: bogus\n{Question}"); err == nil || !strings.Contains(err.Error(), "recorded prompt mine") {
		t.Errorf("bad declaration: %v", err)
	}
}
