package grpo

import (
	"context"
	"errors"
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

// TestRegistryOpener: the opener opens the named runner with the model
// folder in place of --model and the given sampling.
func TestRegistryOpener(t *testing.T) {
	var got runners.Options
	d := runners.Driver{Name: "toy", Open: func(_ context.Context, o runners.Options) (runners.Runner, error) {
		got = o
		return nil, errors.New("toy: opened")
	}}
	open := RegistryOpener(runners.NewRegistry(d), "toy", nil)
	if _, err := open(context.Background(), "ckpt/step-1", runners.Sampling{Seed: 9}); err == nil || err.Error() != "toy: opened" {
		t.Fatalf("open: %v", err)
	}
	if got.Flags.String("model") != "ckpt/step-1" || got.Sampling.Seed != 9 {
		t.Errorf("options %+v", got)
	}
	if _, err := RegistryOpener(runners.NewRegistry(d), "none", nil)(context.Background(), "x", runners.Sampling{}); err == nil {
		t.Error("unknown runner opened")
	}
}
