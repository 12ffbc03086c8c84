package runners

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

// Values reads a command's parsed flags by name. *cli.Context implements
// it; a driver reads only the flags it contributes (Driver.Flags) and the
// shared ones (SamplingFlags, ImageBoundFlags).
type Values interface {
	String(name string) string
	StringSlice(name string) []string
	Int(name string) int
	Int64(name string) int64
	Uint64(name string) uint64
	Float64(name string) float64
	Bool(name string) bool
	Duration(name string) time.Duration
	IsSet(name string) bool
}

// Options is what a driver opens its runner with.
type Options struct {
	// Flags are the command's parsed flags.
	Flags Values
	// Sampling are the resolved decoding settings (SamplingFromFlags, or a
	// command's own: bench decodes greedily with its own token bounds).
	Sampling Sampling
}

// Driver is one kind of runner as the command line offers it: its --runner
// name, its flags (defined once, here, for every command that opens
// runners), how it opens, and what it records in a run manifest.
type Driver struct {
	// Name is the --runner value.
	Name string
	// Usage describes the runner in --runner's help (`onnx (Qwen2-VL on
	// ONNX Runtime)`).
	Usage string
	// Flags are the runner's own flags, their usage prefixed with the
	// runner's name. Flags several runners read (the image bounds) are
	// ImageBoundFlags; the decoding flags are SamplingFlags.
	Flags []cli.Flag
	// Samples reports whether the runner decodes with Options.Sampling (a
	// model runner) rather than reading recorded outputs.
	Samples bool
	// ModelFlag reports whether --model names the runner's model folder (and
	// may be an hf: reference the command resolves before Open).
	ModelFlag bool
	// Remote names the in-process runner whose server this runner talks to
	// (openai: onnx, as medbench serve runs it); "" for an in-process
	// runner. A remote runner keeps --concurrency requests in flight: eval's
	// --batch defaults to it, and bench measures it per batch size (as its
	// concurrency) beside the Remote runner.
	Remote string
	// Exclusive are flags only this runner reads: giving one with another
	// runner is a usage error.
	Exclusive []string
	// Check validates the runner's flags without opening it (bench checks
	// every --variant before measuring any); nil: nothing to check.
	Check func(v Values) error
	// Open opens the runner. Errors are the user's to fix (a bad flag, a
	// missing file) and name the flag or file at fault.
	Open func(ctx context.Context, o Options) (Runner, error)
	// Config is the runner's entries in a run manifest's config (the
	// settings a reader of the record needs); nil: none.
	Config func(v Values) map[string]any
}

// OpenFromFlags is a Driver.Open for a runner configured from its flags and
// the resolved sampling settings: fromFlags builds the configuration (its
// errors, usage errors, are returned as they are) and open opens it (its
// errors are prefixed "runner: ").
func OpenFromFlags[C any, R Runner](fromFlags func(Values, Sampling) (C, error), open func(context.Context, C) (R, error)) func(context.Context, Options) (Runner, error) {
	return func(ctx context.Context, o Options) (Runner, error) {
		cfg, err := fromFlags(o.Flags, o.Sampling)
		if err != nil {
			return nil, err
		}
		r, err := open(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("runner: %w", err)
		}
		return r, nil
	}
}

// ManifestConfig is what a run manifest's config records of the runner:
// for a model runner the image bounds and the preset, then the driver's
// own entries (Config).
func (d Driver) ManifestConfig(v Values) map[string]any {
	m := map[string]any{}
	if d.Samples {
		m["max_pixels"], m["min_pixels"] = v.Int("max-pixels"), v.Int("min-pixels")
		m["preset"] = v.String("preset")
	}
	if d.Config != nil {
		for k, x := range d.Config(v) {
			m[k] = x
		}
	}
	return m
}

// Registry is the set of runners a command line offers, in the order
// given. It is an ordinary value: cmd/medbench builds one, tests build
// their own.
type Registry struct {
	drivers []Driver
}

// NewRegistry returns a registry of the drivers; a repeated or empty name
// panics (a programming error in the registration list).
func NewRegistry(drivers ...Driver) *Registry {
	seen := map[string]bool{}
	for _, d := range drivers {
		if d.Name == "" || d.Open == nil || seen[d.Name] {
			panic(fmt.Sprintf("runners: driver %q registered twice, unnamed or without Open", d.Name))
		}
		seen[d.Name] = true
	}
	return &Registry{drivers: drivers}
}

// Filter returns the registry of the drivers keep accepts, in order: the
// runners a command can use (bench and tools generate need a model runner,
// serve an in-process one).
func (r *Registry) Filter(keep func(Driver) bool) *Registry {
	var out []Driver
	for _, d := range r.drivers {
		if keep(d) {
			out = append(out, d)
		}
	}
	return &Registry{drivers: out}
}

// Names lists the registered runners in registration order.
func (r *Registry) Names() []string {
	out := make([]string, len(r.drivers))
	for i, d := range r.drivers {
		out[i] = d.Name
	}
	return out
}

// Driver returns the named driver, or an error listing the known ones.
func (r *Registry) Driver(name string) (Driver, error) {
	for _, d := range r.drivers {
		if d.Name == name {
			return d, nil
		}
	}
	return Driver{}, fmt.Errorf("--runner %q: want %s", name, orList(r.Names()))
}

// RunnerUsage is --runner's help: every runner's name and usage.
func (r *Registry) RunnerUsage() string {
	parts := make([]string, len(r.drivers))
	for i, d := range r.drivers {
		parts[i] = d.Name
		if d.Usage != "" {
			parts[i] += " (" + d.Usage + ")"
		}
	}
	return "`RUNNER`: " + orList(parts)
}

// Flags are every registered runner's flags, each name once (the first
// definition wins, so runners may share a flag such as --model), minus the
// names in except (flags the command defines itself, with its own meaning).
func (r *Registry) Flags(except ...string) []cli.Flag {
	skip := map[string]bool{}
	for _, n := range except {
		skip[n] = true
	}
	var out []cli.Flag
	for _, d := range r.drivers {
		for _, f := range d.Flags {
			n := f.Names()[0]
			if skip[n] {
				continue
			}
			skip[n] = true
			out = append(out, f)
		}
	}
	return out
}

// Select returns the named driver after checking that no flag exclusive
// to another runner was given.
func (r *Registry) Select(name string, v Values) (Driver, error) {
	d, err := r.Driver(name)
	if err != nil {
		return d, err
	}
	for _, o := range r.drivers {
		if o.Name == name {
			continue
		}
		for _, f := range o.Exclusive {
			if v.IsSet(f) {
				return d, fmt.Errorf("--%s is for --runner %s", f, o.Name)
			}
		}
	}
	return d, nil
}

// overlay is Values with some flags replaced.
type overlay struct {
	Values
	set map[string]any
}

// Overlay returns v with the named string or int flags' values replaced
// and reported set: bench opens one runner per model variant (--dtype,
// --model) or per concurrency this way, train one per checkpoint folder.
func Overlay(v Values, set map[string]any) Values { return overlay{v, set} }

func (o overlay) IsSet(name string) bool {
	if _, ok := o.set[name]; ok {
		return true
	}
	return o.Values.IsSet(name)
}

func (o overlay) String(name string) string {
	if x, ok := o.set[name].(string); ok {
		return x
	}
	return o.Values.String(name)
}

func (o overlay) Int(name string) int {
	if x, ok := o.set[name].(int); ok {
		return x
	}
	return o.Values.Int(name)
}

// orList joins names as "a, b or c".
func orList(names []string) string {
	switch len(names) {
	case 0:
		return "none"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// Pick returns the named flags, in the order named (absent names are
// skipped): a command that reads only some of a runner's flags.
func Pick(flags []cli.Flag, names ...string) []cli.Flag {
	var out []cli.Flag
	for _, n := range names {
		for _, f := range flags {
			if f.Names()[0] == n {
				out = append(out, f)
			}
		}
	}
	return out
}

// WithDefault returns the flags with the named flag's default replaced (a
// copy; the driver's definition is unchanged): a command whose own default
// differs, e.g. `tools generate`'s 32 new tokens. The value's type must be
// the flag's; a flag that is absent or of another type panics.
func WithDefault(flags []cli.Flag, name string, value any) []cli.Flag {
	out := make([]cli.Flag, len(flags))
	copy(out, flags)
	for i, f := range out {
		if f.Names()[0] != name {
			continue
		}
		switch x := f.(type) {
		case *cli.IntFlag:
			y := *x
			y.Value = value.(int)
			out[i] = &y
		case *cli.Uint64Flag:
			y := *x
			y.Value = value.(uint64)
			out[i] = &y
		case *cli.Float64Flag:
			y := *x
			y.Value = value.(float64)
			out[i] = &y
		case *cli.StringFlag:
			y := *x
			y.Value = value.(string)
			out[i] = &y
		default:
			panic(fmt.Sprintf("runners: WithDefault: --%s is a %T", name, f))
		}
		return out
	}
	panic(fmt.Sprintf("runners: WithDefault: no flag --%s", name))
}
