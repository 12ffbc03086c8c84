package qwen2vl

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/medbench/medbench/ort/ortlib"
	"github.com/medbench/medbench/runners"
)

// openWithFlags opens the driver's runner from args parsed against its
// flags and the sampling flags, as a command does.
func openWithFlags(t *testing.T, args ...string) error {
	t.Helper()
	d := Driver()
	app := &cli.App{Name: "t", Flags: append(d.Flags, runners.SamplingFlags()...), ExitErrHandler: func(*cli.Context, error) {}}
	app.Action = func(c *cli.Context) error {
		s, err := runners.SamplingFromFlags(c)
		if err != nil {
			return err
		}
		if err := d.Check(c); err != nil {
			return err
		}
		r, err := d.Open(c.Context, runners.Options{Flags: c, Sampling: s})
		if err != nil {
			return err
		}
		defer r.Close()
		if info := r.Info(); info.Device != "cpu" || info.Name != "qwen2vl-onnx" || info.Settings["dtype"] != "fp32" {
			t.Errorf("info %+v", info)
		}
		return nil
	}
	return app.RunContext(context.Background(), append([]string{"t"}, args...))
}

func TestDriverOpen(t *testing.T) {
	dir := tinyModel(t, "fp32")
	if err := openWithFlags(t, "--model", dir, "--preset", "medvlm-r1", "--max-new-tokens", "4", "--threads", "1"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--preset", "medvlm-r1"}, "--model"},
		{[]string{"--model", dir, "--dtype", "fp8"}, `unknown dtype "fp8"`},
		{[]string{"--model", dir, "--threads", "-2"}, "--threads -2"},
		{[]string{"--model", dir, "--rgba", "black"}, "--rgba"},
		{[]string{"--model", dir, "--max-batch-image-mib", "-1"}, "--max-batch-image-mib -1"},
		{[]string{"--model", dir + "/nope"}, "config.json"},
	} {
		if err := openWithFlags(t, tc.args...); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%v: %v, want an error naming %q", tc.args, err, tc.msg)
		}
	}
	if _, err := os.Stat("/dev/nvidia0"); err != nil {
		err := openWithFlags(t, "--model", dir, "--device", "cuda")
		if err == nil || !errors.Is(err, ortlib.ErrNoCUDA) || strings.Contains(err.Error(), "\n") {
			t.Errorf("--device cuda without a GPU: %v", err)
		}
	}
}

// TestDriverConfig: the manifest config entries come from the flags.
func TestDriverConfig(t *testing.T) {
	d := Driver()
	app := &cli.App{Name: "t", Flags: d.Flags, Action: func(c *cli.Context) error {
		got := d.Config(c)
		if got["dtype"] != "q4" || got["device"] != "cpu" || got["rgba"] != "white" || got["max_batch_image_mib"] != int64(7) || len(got) != 5 {
			t.Errorf("config %v", got)
		}
		return nil
	}}
	if err := app.Run([]string{"t", "--dtype", "q4", "--max-batch-image-mib", "7"}); err != nil {
		t.Fatal(err)
	}
}
