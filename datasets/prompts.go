package datasets

import (
	"fmt"
	"os"
	"strings"
)

// Template is a question template. Its text contains the placeholder
// "{Question}", which is replaced by the record's problem (Python str.format
// semantics for that one field: the seed's problems contain no braces).
type Template struct {
	Name string
	Text string
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

// Built-in templates by name.
var builtinTemplates = map[string]string{
	"simple":  SimpleText,
	"complex": ComplexText,
	"train":   TrainText,
	"short":   ShortText,
}

// BuiltinTemplate returns a built-in template: the seed's simple, complex
// and train, or short.
func BuiltinTemplate(name string) (Template, error) {
	t, ok := builtinTemplates[name]
	if !ok {
		return Template{}, fmt.Errorf("datasets: unknown prompt %q (built-in: simple, complex, train, short; or name=FILE for a custom template)", name)
	}
	return Template{Name: name, Text: t}, nil
}

// LoadTemplate reads a custom template file; its content is used verbatim.
func LoadTemplate(name, path string) (Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Template{}, fmt.Errorf("datasets: prompt template %s: %w", path, err)
	}
	if !strings.Contains(string(b), "{Question}") {
		return Template{}, fmt.Errorf("datasets: prompt template %s: no {Question} placeholder", path)
	}
	return Template{Name: name, Text: string(b)}, nil
}

// ParseTemplate resolves "simple", "complex", "train" or "name=FILE".
func ParseTemplate(spec string) (Template, error) {
	if name, path, ok := strings.Cut(spec, "="); ok {
		return LoadTemplate(name, path)
	}
	return BuiltinTemplate(spec)
}

// Render fills the template with the problem text.
func (t Template) Render(problem string) string {
	return strings.ReplaceAll(t.Text, "{Question}", problem)
}
