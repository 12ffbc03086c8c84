package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// positionalArgs returns the positional arguments, applying any flags that
// follow them: urfave/cli stops parsing flags at the first argument, but the
// documented usage is "validate FILE --images DIR". "--" ends flag parsing.
func positionalArgs(c *cli.Context) ([]string, error) {
	raw := c.Args().Slice()
	var pos []string
	for i := 0; i < len(raw); i++ {
		tok := raw[i]
		if tok == "--" {
			pos = append(pos, raw[i+1:]...)
			break
		}
		if len(tok) < 2 || tok[0] != '-' {
			pos = append(pos, tok)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(tok, "-"), "=")
		f := lookupFlag(c.Command.Flags, name)
		if f == nil {
			return nil, usageErr("%s: flag provided but not defined: %s", commandPath(c), tok)
		}
		if _, isBool := f.(*cli.BoolFlag); isBool && !hasValue {
			value, hasValue = "true", true
		}
		if !hasValue {
			if i+1 >= len(raw) {
				return nil, usageErr("%s: flag needs an argument: %s", commandPath(c), tok)
			}
			i++
			value = raw[i]
		}
		if err := c.Set(f.Names()[0], value); err != nil {
			return nil, usageErr("%s: invalid value %q for flag %s: %v", commandPath(c), value, tok, err)
		}
	}
	return pos, nil
}

// commandPath names the running command as a user typed it ("dataset validate").
func commandPath(c *cli.Context) string {
	var names []string
	for _, l := range c.Lineage() {
		if l.Command != nil && l.Command.Name != "" && l.Command.Name != c.App.Name {
			names = append([]string{l.Command.Name}, names...)
		}
	}
	return strings.Join(names, " ")
}

func lookupFlag(flags []cli.Flag, name string) cli.Flag {
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}

func oneArg(c *cli.Context, what string) (string, error) {
	args, err := positionalArgs(c)
	if err != nil {
		return "", err
	}
	if len(args) != 1 {
		return "", usageErr("%s: want one %s argument, got %d", commandPath(c), what, len(args))
	}
	return args[0], nil
}
