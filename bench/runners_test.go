package bench

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/medbench/medbench/datasets"
	"github.com/medbench/medbench/runners"
)

// flagValues are flag values from a map (the runners.Values this test
// reads; the rest are zero).
type flagValues map[string]any

func (f flagValues) IsSet(n string) bool           { _, ok := f[n]; return ok }
func (f flagValues) String(n string) string        { s, _ := f[n].(string); return s }
func (f flagValues) Int(n string) int              { i, _ := f[n].(int); return i }
func (f flagValues) StringSlice(string) []string   { return nil }
func (f flagValues) Int64(string) int64            { return 0 }
func (f flagValues) Uint64(string) uint64          { return 0 }
func (f flagValues) Float64(string) float64        { return 0 }
func (f flagValues) Bool(string) bool              { return false }
func (f flagValues) Duration(string) time.Duration { return 0 }

func TestSelectRunnersAndSuite(t *testing.T) {
	var opened []runners.Options
	open := func(name string) func(context.Context, runners.Options) (runners.Runner, error) {
		return func(_ context.Context, o runners.Options) (runners.Runner, error) {
			opened = append(opened, o)
			return nil, errors.New(name)
		}
	}
	local := runners.Driver{Name: "local", Samples: true, ModelFlag: true, Open: open("local"),
		Check: func(v runners.Values) error {
			if v.String("dtype") == "bad" {
				return errors.New("bad dtype")
			}
			return nil
		}}
	remote := runners.Driver{Name: "remote", Samples: true, Remote: "local", Open: open("remote")}
	reg := runners.NewRegistry(local, remote)
	flags := flagValues{"model": "m", "dtype": "fp32"}

	rs, err := SelectRunners(reg, "local", flags)
	if err != nil || rs.Measured.Name != "local" || rs.Remote != nil {
		t.Fatalf("local: %+v, %v", rs, err)
	}
	if rs.Check(Variant{DType: "bad"}) == nil || rs.Check(Variant{DType: "q8"}) != nil {
		t.Error("Check does not use the runner's check on the variant")
	}
	rs, err = SelectRunners(reg, "remote", flags)
	if err != nil || rs.Measured.Name != "local" || rs.Remote == nil || rs.Remote.Name != "remote" {
		t.Fatalf("remote: %+v, %v", rs, err)
	}
	if _, err := SelectRunners(reg, "none", flags); err == nil {
		t.Error("unknown runner selected")
	}

	s := Settings{N: 2, MaxNew: 4, MinNew: 4, Variants: []Variant{{"fp32", "hf:a/b"}, {"q8", "local"}}}
	if err := rs.ResolveVariants(&s, func(v Variant) (string, map[string]any, bool, error) {
		if v.Dir != "hf:a/b" {
			return "", nil, false, nil
		}
		return "/cache/" + v.DType, map[string]any{"ref": v.Dir}, true, nil
	}); err != nil {
		t.Fatal(err)
	}
	if s.Variants[0].Dir != "/cache/fp32" || s.Variants[1].Dir != "local" || s.ModelDir != "/cache/fp32" || s.ModelSource["ref"] != "hf:a/b" {
		t.Errorf("resolved %+v", s)
	}

	suite := rs.Suite(s, []datasets.Item{}, "p.prof", nil)
	if suite.RemoteName != "remote" || suite.Profile != "p.prof" || suite.OpenRemote == nil {
		t.Errorf("suite %+v", suite)
	}
	suite.Open(context.Background(), Variant{"q8", "d"})
	suite.OpenRemote(context.Background(), 3)
	if len(opened) != 2 || opened[0].Flags.String("dtype") != "q8" || opened[0].Flags.String("model") != "d" ||
		opened[0].Sampling.MaxNewTokens != 4 || opened[0].Sampling.MinNewTokens != 4 || opened[1].Flags.Int("concurrency") != 3 {
		t.Errorf("opened with %+v", opened)
	}
}
