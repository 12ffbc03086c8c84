package bench

import (
	"context"
	"io"

	"github.com/medbench/medbench/datasets"
	"github.com/medbench/medbench/runners"
)

// Runners are the runners a bench measures: Measured in process and, when
// the chosen runner talks to a server (runners.Driver.Remote), that runner
// as Remote, measured beside the in-process runner the server runs.
type Runners struct {
	Measured runners.Driver
	Remote   *runners.Driver
	// Flags are the command's flag values the runners open with.
	Flags runners.Values
}

// SelectRunners picks the runner name of reg (runners.Registry.Select) and,
// for a runner that talks to a server, the in-process runner it names.
func SelectRunners(reg *runners.Registry, name string, v runners.Values) (Runners, error) {
	d, err := reg.Select(name, v)
	if err != nil {
		return Runners{}, err
	}
	if d.Remote == "" {
		return Runners{Measured: d, Flags: v}, nil
	}
	measured, err := reg.Driver(d.Remote)
	if err != nil {
		return Runners{}, err
	}
	return Runners{Measured: measured, Remote: &d, Flags: v}, nil
}

// variantFlags are the flag values of variant v: its dtype and folder in
// place of --dtype and --model.
func (rs Runners) variantFlags(v Variant) runners.Values {
	return runners.Overlay(rs.Flags, map[string]any{"dtype": v.DType, "model": v.Dir})
}

// Check validates a variant with the measured runner's own flag checks.
func (rs Runners) Check(v Variant) error {
	if rs.Measured.Check == nil {
		return nil
	}
	return rs.Measured.Check(rs.variantFlags(v))
}

// ResolveVariants replaces the folder of each variant that resolve
// resolves (ok) with its answer, when the measured runner takes a model
// folder; the first variant's also becomes ModelDir and ModelSource.
func (rs Runners) ResolveVariants(s *Settings, resolve func(Variant) (dir string, src map[string]any, ok bool, err error)) error {
	if !rs.Measured.ModelFlag {
		return nil
	}
	for i, v := range s.Variants {
		dir, src, ok, err := resolve(v)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		s.Variants[i].Dir = dir
		if i == 0 {
			s.ModelDir, s.ModelSource = dir, src
		}
	}
	return nil
}

// Suite is the measurement of rs with settings s over the dataset items
// (Interleave, Requests), greedy with s's new-token bounds; profile and
// log are Suite's Profile and Log.
func (rs Runners) Suite(s Settings, items []datasets.Item, profile string, log io.Writer) Suite {
	smp := runners.SeedPreset()
	smp.MaxNewTokens, smp.MinNewTokens = s.MaxNew, s.MinNew
	suite := Suite{
		Settings: s,
		Requests: Requests(Interleave(items, s.N), s.Prompt),
		Open: func(ctx context.Context, v Variant) (runners.Runner, error) {
			return rs.Measured.Open(ctx, runners.Options{Flags: rs.variantFlags(v), Sampling: smp})
		},
		Profile: profile,
		Log:     log,
	}
	if rs.Remote != nil {
		remote := rs.Remote
		suite.RemoteName = remote.Name
		suite.OpenRemote = func(ctx context.Context, concurrency int) (runners.Runner, error) {
			return remote.Open(ctx, runners.Options{Flags: runners.Overlay(rs.Flags, map[string]any{"concurrency": concurrency}), Sampling: smp})
		}
	}
	return suite
}
