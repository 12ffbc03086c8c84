package hub

import (
	"fmt"
	"regexp"
	"strings"
)

// Patterns selects repository files the way huggingface_hub's
// allow_patterns/ignore_patterns do (Python fnmatch over the whole path: '*'
// also crosses '/'; a pattern ending in '/' matches everything below it).
type Patterns struct {
	include, exclude []*regexp.Regexp
	literal          []string // include patterns without wildcards
	allLiteral       bool
}

// NewPatterns compiles include and exclude globs. No include pattern selects
// every file.
func NewPatterns(include, exclude []string) (Patterns, error) {
	p := Patterns{allLiteral: len(include) > 0}
	for _, g := range include {
		re, err := fnmatch(g)
		if err != nil {
			return p, err
		}
		p.include = append(p.include, re)
		if strings.ContainsAny(g, "*?[") || strings.HasSuffix(g, "/") {
			p.allLiteral = false
		} else {
			p.literal = append(p.literal, g)
		}
	}
	for _, g := range exclude {
		re, err := fnmatch(g)
		if err != nil {
			return p, err
		}
		p.exclude = append(p.exclude, re)
	}
	return p, nil
}

// Match reports whether the file is selected.
func (p Patterns) Match(name string) bool {
	ok := len(p.include) == 0
	for _, re := range p.include {
		if re.MatchString(name) {
			ok = true
			break
		}
	}
	if !ok {
		return false
	}
	for _, re := range p.exclude {
		if re.MatchString(name) {
			return false
		}
	}
	return true
}

// literals returns the include patterns as file names when every one is a
// plain name (then the selection is known without a listing).
func (p Patterns) literals() ([]string, bool) {
	if !p.allLiteral {
		return nil, false
	}
	var out []string
	for _, n := range p.literal {
		if p.Match(n) {
			out = append(out, n)
		}
	}
	return out, true
}

// fnmatch translates a Python fnmatch pattern to an anchored regexp.
func fnmatch(glob string) (*regexp.Regexp, error) {
	if strings.HasSuffix(glob, "/") {
		glob += "*"
	}
	var b strings.Builder
	b.WriteString(`^`)
	for i := 0; i < len(glob); i++ {
		switch c := glob[i]; c {
		case '*':
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		case '[':
			j := i + 1
			if j < len(glob) && glob[j] == '!' {
				j++
			}
			if j < len(glob) && glob[j] == ']' {
				j++
			}
			for j < len(glob) && glob[j] != ']' {
				j++
			}
			if j >= len(glob) { // no closing bracket: a literal '['
				b.WriteString(`\[`)
				continue
			}
			set := glob[i+1 : j]
			if strings.HasPrefix(set, "!") {
				set = "^" + set[1:]
			}
			set = strings.ReplaceAll(set, `\`, `\\`)
			b.WriteString("[" + set + "]")
			i = j
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString(`$`)
	re, err := regexp.Compile("(?s)" + b.String())
	if err != nil {
		return nil, fmt.Errorf("hub: glob %q: %w", glob, err)
	}
	return re, nil
}
