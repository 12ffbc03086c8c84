package runners

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

type nopRunner struct{}

func (nopRunner) Generate(context.Context, []Request) ([]Result, error) { return nil, nil }
func (nopRunner) Info() Info                                            { return Info{Name: "nop"} }
func (nopRunner) Close() error                                          { return nil }

func nopDriver(name string, samples bool, flags ...cli.Flag) Driver {
	return Driver{Name: name, Samples: samples, Flags: flags,
		Open: func(context.Context, Options) (Runner, error) { return nopRunner{}, nil }}
}

// TestRegistry: flags are listed once across drivers (first definition
// wins, except dropped), exclusive flags refuse other runners, Filter
// keeps the order, and an unknown runner names the known ones.
func TestRegistry(t *testing.T) {
	shared := &cli.IntFlag{Name: "max-pixels"}
	a := nopDriver("a", true, &cli.StringFlag{Name: "model"}, shared)
	b := nopDriver("b", false, &cli.StringSliceFlag{Name: "outputs"}, &cli.IntFlag{Name: "max-pixels", Value: 9})
	b.Exclusive = []string{"outputs"}
	reg := NewRegistry(a, b, nopDriver("c", true))
	var names []string
	for _, f := range reg.Flags("model") {
		names = append(names, f.Names()[0])
	}
	if strings.Join(names, ",") != "max-pixels,outputs" || reg.Flags()[1] != shared {
		t.Errorf("flags %v", names)
	}
	if got := reg.Filter(func(d Driver) bool { return d.Samples }).Names(); strings.Join(got, ",") != "a,c" {
		t.Errorf("filter: %v", got)
	}
	if _, err := reg.Driver("z"); err == nil || err.Error() != `--runner "z": want a, b or c` {
		t.Errorf("unknown runner: %v", err)
	}
	if u := reg.RunnerUsage(); !strings.HasPrefix(u, "`RUNNER`: a, b or c") {
		t.Errorf("usage %q", u)
	}
	app := &cli.App{Name: "t", Flags: reg.Flags(), Action: func(c *cli.Context) error {
		if _, err := reg.Select("a", c); err == nil || err.Error() != "--outputs is for --runner b" {
			t.Errorf("exclusive flag: %v", err)
		}
		if d, err := reg.Select("b", c); err != nil || d.Name != "b" {
			t.Errorf("select b: %v", err)
		}
		v := Overlay(c, map[string]any{"model": "m2", "max-pixels": 7})
		if v.String("model") != "m2" || v.Int("max-pixels") != 7 || !v.IsSet("model") || v.StringSlice("outputs")[0] != "x" {
			t.Errorf("overlay: %q %d", v.String("model"), v.Int("max-pixels"))
		}
		return nil
	}}
	if err := app.Run([]string{"t", "--outputs", "x", "--model", "m"}); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Error("a repeated name did not panic")
		}
	}()
	NewRegistry(a, a)
}

func TestWithDefault(t *testing.T) {
	base := SamplingFlags()
	fl := WithDefault(base, "max-new-tokens", 32)
	for i, f := range fl {
		if f.Names()[0] == "max-new-tokens" {
			if f.(*cli.IntFlag).Value != 32 || base[i].(*cli.IntFlag).Value != 512 {
				t.Errorf("default %d, the original's %d", f.(*cli.IntFlag).Value, base[i].(*cli.IntFlag).Value)
			}
		}
	}
}

// TestManifestConfig: a model runner records the image bounds and preset
// besides its own entries; a replay-like runner only its own.
func TestManifestConfig(t *testing.T) {
	model := nopDriver("m", true)
	model.Config = func(v Values) map[string]any { return map[string]any{"dtype": v.String("dtype")} }
	app := &cli.App{Name: "t", Flags: append(ImageBoundFlags(), &cli.StringFlag{Name: "dtype"}, &cli.StringFlag{Name: "preset"}), Action: func(c *cli.Context) error {
		got := model.ManifestConfig(c)
		if len(got) != 4 || got["max_pixels"] != 100 || got["min_pixels"] != 0 || got["preset"] != "medvlm-r1" || got["dtype"] != "q4" {
			t.Errorf("model runner: %v", got)
		}
		if got := nopDriver("r", false).ManifestConfig(c); len(got) != 0 {
			t.Errorf("replay-like runner: %v", got)
		}
		return nil
	}}
	if err := app.Run([]string{"t", "--max-pixels", "100", "--dtype", "q4", "--preset", "medvlm-r1"}); err != nil {
		t.Fatal(err)
	}
}

// TestOpenFromFlags: the configuration is built from the options' flags and
// sampling; its errors come back as they are, Open's prefixed "runner: ".
func TestOpenFromFlags(t *testing.T) {
	type cfg struct{ seed uint64 }
	fromFlags := func(_ Values, s Sampling) (cfg, error) {
		if s.Seed == 0 {
			return cfg{}, errors.New("--seed wanted")
		}
		return cfg{seed: s.Seed}, nil
	}
	var opened cfg
	open := OpenFromFlags(fromFlags, func(_ context.Context, c cfg) (nopRunner, error) {
		opened = c
		if c.seed == 2 {
			return nopRunner{}, errors.New("no model")
		}
		return nopRunner{}, nil
	})
	if r, err := open(context.Background(), Options{Sampling: Sampling{Seed: 1}}); err != nil || r == nil || opened.seed != 1 {
		t.Fatalf("open: %v, %v, config %+v", r, err, opened)
	}
	if r, err := open(context.Background(), Options{}); r != nil || err == nil || err.Error() != "--seed wanted" {
		t.Errorf("config error: %v, %v", r, err)
	}
	if r, err := open(context.Background(), Options{Sampling: Sampling{Seed: 2}}); r != nil || err == nil || err.Error() != "runner: no model" {
		t.Errorf("open error: %v, %v", r, err)
	}
}
