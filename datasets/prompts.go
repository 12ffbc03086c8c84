package datasets

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/medbench/medbench/answer"
)

// Template is a question template. Its text contains the placeholder
// "{Question}", which is replaced by the record's problem (Python str.format
// semantics for that one field: the seed's problems contain no braces).
// Format is the answer format the template asks for, which the extraction
// policies read outputs by (the zero value is answer.Tagged).
type Template struct {
	Name string
	// Text is the template as given, a custom template's format
	// declaration line included (see LoadTemplate); Render leaves that
	// line out.
	Text   string
	Format answer.Format
}

// The seed's templates, byte for byte (src/eval/test_qwen2vl_med.py lines 65-77
// and src/open-r1-multimodal/src/open_r1/grpo.py lines 162-172). Note the
// trailing spaces after "{Question}", "Your task:" and instruction 1, and the
// 4-space (eval) versus 8-space (training) indentation: both are quirks of
// Python triple-quoted strings in the seed and are reproduced on purpose.
const (
	SimpleText  = "\n    {Question} \n    Your task: provide the correct single-letter choice (A, B, C, D,...).\n    "
	ComplexText = "\n    {Question} \n    Your task: \n    1. Think through the question step by step, enclose your reasoning process in <think>...</think> tags. \n    2. Then provide the correct single-letter choice (A, B, C, D,...) inside <answer>...</answer> tags.\n    3. No extra information or text outside of these tags.\n    "
	TrainText   = "\n        {Question} \n        Your task: \n        1. Think through the question step by step, enclose your reasoning process in <think>...</think> tags. \n        2. Then provide the correct single-letter choice (A, B, C, D,...) inside <answer>...</answer> tags.\n        3. No extra information or text outside of these tags.\n        "
)

// ShortText is not the seed's: a one-line think-then-answer instruction for
// small models, whose training cost grows with the prompt length (the tiny
// fixture's GRPO task and the demo train and evaluate with it).
const ShortText = "{Question}\nReply <think>...</think><answer>letter</answer>"

// builtinTemplate returns the built-in template named name.
func builtinTemplate(name string) (Template, bool) {
	switch name {
	case "simple":
		return Template{Name: name, Text: SimpleText, Format: answer.LetterOnly}, true
	case "complex":
		return Template{Name: name, Text: ComplexText, Format: answer.Tagged}, true
	case "train":
		return Template{Name: name, Text: TrainText, Format: answer.Tagged}, true
	case "short":
		return Template{Name: name, Text: ShortText, Format: answer.Tagged}, true
	}
	return Template{}, false
}

// BuiltinTemplate returns a built-in template: the seed's simple
// (letter-only: the whole output is the answer), complex and train (tagged),
// or short (tagged).
func BuiltinTemplate(name string) (Template, error) {
	t, ok := builtinTemplate(name)
	if !ok {
		return Template{}, fmt.Errorf("datasets: unknown prompt %q (built-in: simple, complex, train, short; or name=FILE for a custom template)", name)
	}
	return t, nil
}

// formatDirective follows the "#" of a custom template's format declaration
// line (see LoadTemplate).
const formatDirective = "answer-format:"

// LoadTemplate reads a custom template file. Its content is the template's
// Text verbatim. The file may declare its answer format on its first line
// (after an optional UTF-8 byte order mark): "#answer-format: FORMAT", with
// spaces allowed after "#" and around FORMAT, where FORMAT is "tagged" or
// "letter-only" (docs/scoring.md). That line sets Format and is not part of
// the rendered prompt; a file without it is tagged.
func LoadTemplate(name, path string) (Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Template{}, fmt.Errorf("datasets: prompt template %s: %w", path, err)
	}
	t, err := customTemplate(name, string(b))
	if err != nil {
		return Template{}, fmt.Errorf("datasets: prompt template %s: %w", path, err)
	}
	return t, nil
}

// customTemplate checks a custom template's text and reads its format
// declaration.
func customTemplate(name, text string) (Template, error) {
	decl, body, declared := splitDeclaration(text)
	if !strings.Contains(body, "{Question}") {
		return Template{}, errors.New("no {Question} placeholder")
	}
	t := Template{Name: name, Text: text}
	if declared {
		f, err := answer.Parse(decl)
		if err != nil {
			return Template{}, fmt.Errorf("line 1: %w", err)
		}
		t.Format = f
	}
	return t, nil
}

// splitDeclaration splits a template's text into its answer-format
// declaration (the FORMAT of a first line "#answer-format: FORMAT") and the
// prompt text that follows; declared is false, and body the whole text,
// when the first line is no declaration.
func splitDeclaration(text string) (format, body string, declared bool) {
	rest := strings.TrimPrefix(text, "\ufeff")
	if !strings.HasPrefix(rest, "#") {
		return "", text, false
	}
	line, body, _ := strings.Cut(rest, "\n")
	directive, ok := strings.CutPrefix(strings.TrimLeft(line[1:], " \t"), formatDirective)
	if !ok {
		return "", text, false
	}
	return strings.Trim(directive, " \t\r"), body, true
}

// ParseTemplate resolves "simple", "complex", "train", "short" or
// "name=FILE".
func ParseTemplate(spec string) (Template, error) {
	if name, path, ok := strings.Cut(spec, "="); ok {
		return LoadTemplate(name, path)
	}
	return BuiltinTemplate(spec)
}

// RecordedTemplate rebuilds a template from its name and text as a run
// manifest records them (records.PromptInfo): a built-in template when both
// match one, a custom template otherwise, its answer format read from its
// declaration line.
func RecordedTemplate(name, text string) (Template, error) {
	if t, ok := builtinTemplate(name); ok && t.Text == text {
		return t, nil
	}
	t, err := customTemplate(name, text)
	if err != nil {
		return Template{}, fmt.Errorf("datasets: recorded prompt %s: %w", name, err)
	}
	return t, nil
}

// Render fills the template with the problem text (without a custom
// template's format declaration line).
func (t Template) Render(problem string) string {
	_, body, _ := splitDeclaration(t.Text)
	return strings.ReplaceAll(body, "{Question}", problem)
}

// ParseTemplateFlag parses the value spec of the command-line flag named
// flag with ParseTemplate. Its errors name the flag: "--FLAG SPEC: ..." when
// a NAME=FILE template cannot be read, "--FLAG: ..." otherwise.
func ParseTemplateFlag(flag, spec string) (Template, error) {
	t, err := ParseTemplate(spec)
	if err != nil {
		if strings.Contains(spec, "=") {
			return t, fmt.Errorf("--%s %s: %w", flag, spec, err)
		}
		return t, fmt.Errorf("--%s: %v", flag, err)
	}
	return t, nil
}

// ParseTemplatesFlag parses the values of a repeatable template flag
// (ParseTemplateFlag), skipping blank ones; at least one is needed.
func ParseTemplatesFlag(flag string, specs []string) ([]Template, error) {
	var out []Template
	for _, spec := range specs {
		spec = strings.TrimSpace(spec)
		if spec == "" {
			continue
		}
		t, err := ParseTemplateFlag(flag, spec)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--%s: no prompt given", flag)
	}
	return out, nil
}
