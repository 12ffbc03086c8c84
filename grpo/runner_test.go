package grpo

import (
	"context"
	"strings"
	"testing"

	"github.com/medbench/medbench/runners"
)

type notQwen struct{ closed *bool }

func (notQwen) Generate(context.Context, []runners.Request) ([]runners.Result, error) {
	return nil, nil
}
func (notQwen) Info() runners.Info { return runners.Info{Name: "toy"} }
func (n notQwen) Close() error     { *n.closed = true; return nil }

// TestOpenPolicyNeedsQwen2VL: an Opener whose runner lacks the token-level
// API is refused by name (and closed), and the Opener sees the folder and
// the decoding settings.
func TestOpenPolicyNeedsQwen2VL(t *testing.T) {
	var closed bool
	var gotDir string
	var gotS runners.Sampling
	open := func(_ context.Context, dir string, s runners.Sampling) (runners.Runner, error) {
		gotDir, gotS = dir, s
		return notQwen{&closed}, nil
	}
	_, err := openPolicy(context.Background(), open, "ckpt/step-2", runners.Sampling{MaxNewTokens: 7}, (&Config{}).runnerDefaults())
	if err == nil || !strings.Contains(err.Error(), "runner toy: training needs the Qwen2-VL ONNX runner") || !closed {
		t.Errorf("err %v, closed %v", err, closed)
	}
	if gotDir != "ckpt/step-2" || gotS.MaxNewTokens != 7 {
		t.Errorf("opener saw %q %+v", gotDir, gotS)
	}
}
