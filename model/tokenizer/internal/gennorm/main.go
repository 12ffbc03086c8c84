// Command gennorm writes norm_tables.go: the normalisation data of the
// characters that Unicode added after the version of golang.org/x/text's
// tables (15.0) up to the version of the Node.js ICU that the reference
// tokenizer runs on. NFC results of strings made only of older characters are
// stable across Unicode versions (the Unicode normalization stability
// policy), so these few characters are all that NFC needs beyond x/text.
//
// Node gives the decompositions and compositions directly; canonical
// combining classes, which JavaScript does not expose, are recovered from
// canonical reordering against reference marks of every known class.
//
// Usage (from model/tokenizer): go run ./internal/gennorm
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/format"
	"log"
	"os"
	"os/exec"
	"sort"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

const nodeScan = `
const out = { version: process.versions.unicode, node: process.version, icu: process.versions.icu, assigned: [], marks: [], decomp: [] };
for (let c = 0; c < 0x110000; c++) {
  if (c >= 0xd800 && c <= 0xdfff) continue;
  const s = String.fromCodePoint(c);
  if (!/^\p{Cn}$/u.test(s)) out.assigned.push(c);
  if (/^\p{M}$/u.test(s)) out.marks.push(c);
  const d = s.normalize("NFD");
  if (d !== s) {
    const cps = [...d].map((x) => x.codePointAt(0));
    const primary = d.normalize("NFC") === s;
    const prefix = [...d.slice(0, d.length - String.fromCodePoint(cps[cps.length - 1]).length).normalize("NFC")].map((x) => x.codePointAt(0));
    out.decomp.push([c, cps, primary, prefix]);
  }
}
process.stdout.write(JSON.stringify(out));
`

const nodeNFD = `
const lines = require("fs").readFileSync(0, "utf8").split("\n").filter((x) => x).map((x) => JSON.parse(x));
process.stdout.write(JSON.stringify(lines.map((s) => s.normalize("NFD"))));
`

type scan struct {
	Version  string              `json:"version"`
	Node     string              `json:"node"`
	ICU      string              `json:"icu"`
	Assigned []rune              `json:"assigned"`
	Marks    []rune              `json:"marks"`
	Decomp   [][]json.RawMessage `json:"decomp"`
}

func runNode(script string, stdin []byte, v any) {
	cmd := exec.Command("node", "-e", script)
	cmd.Stdin = bytes.NewReader(stdin)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		log.Fatalf("gennorm: node: %v", err)
	}
	if err := json.Unmarshal(out, v); err != nil {
		log.Fatalf("gennorm: node output: %v", err)
	}
}

// goAssigned reports whether r is assigned in Go's (and x/text's) Unicode
// version. (unicode.C includes Cn, so the unassigned table is used directly.)
func goAssigned(r rune) bool {
	cn, ok := unicode.Categories["Cn"]
	if !ok {
		log.Fatal("gennorm: unicode.Categories has no Cn table")
	}
	return !unicode.Is(cn, r)
}

func ccc(r rune) uint8 { return norm.NFC.PropertiesString(string(r)).CCC() }

func main() {
	var sc scan
	runNode(nodeScan, nil, &sc)
	isNew := map[rune]bool{}
	for _, r := range sc.Assigned {
		if !goAssigned(r) {
			isNew[r] = true
		}
	}

	// Reference marks: the first character of every combining class.
	refs := map[uint8]rune{}
	for r := rune(0); r < 0x110000; r++ {
		if c := ccc(r); c != 0 {
			if _, ok := refs[c]; !ok {
				refs[c] = r
			}
		}
	}
	classes := make([]int, 0, len(refs))
	for c := range refs {
		classes = append(classes, int(c))
	}
	sort.Ints(classes)

	// Reordering tests for every new mark m against every reference x:
	// NFD("a" x m) moves m before x iff 0 < ccc(m) < ccc(x);
	// NFD("a" m x) moves x before m iff ccc(m) > ccc(x).
	var newMarks []rune
	for _, r := range sc.Marks {
		if isNew[r] {
			newMarks = append(newMarks, r)
		}
	}
	var in bytes.Buffer
	for _, m := range newMarks {
		for _, c := range classes {
			x := refs[uint8(c)]
			for _, s := range []string{"a" + string(x) + string(m), "a" + string(m) + string(x)} {
				b, _ := json.Marshal(s)
				in.Write(b)
				in.WriteByte('\n')
			}
		}
	}
	var nfd []string
	runNode(nodeNFD, in.Bytes(), &nfd)
	type cccEntry struct {
		r   rune
		ccc int
	}
	var newCCC []cccEntry
	k := 0
	for _, m := range newMarks {
		lower, upper, equal, moves := 0, 1<<30, 0, false
		for _, c := range classes {
			x := refs[uint8(c)]
			before := nfd[k] == "a"+string(m)+string(x)  // 0 < ccc(m) < c
			after := nfd[k+1] == "a"+string(x)+string(m) // ccc(m) > c
			k += 2
			switch {
			case before && after:
				log.Fatalf("gennorm: inconsistent reordering of %U and %U", m, x)
			case after:
				lower, moves = max(lower, c), true
			case before:
				upper, moves = min(upper, c), true
			default:
				if equal == 0 {
					equal = c
				}
			}
		}
		if !moves {
			continue // class 0: never reorders
		}
		cls := lower + 1 // a class between known ones: only the order matters
		if equal > lower && equal < upper {
			cls = equal
		}
		if cls <= lower || cls >= upper {
			log.Fatalf("gennorm: cannot place the combining class of %U (between %d and %d)", m, lower, upper)
		}
		newCCC = append(newCCC, cccEntry{m, cls})
	}

	type decompEntry struct {
		r rune
		d []rune
	}
	type composeEntry struct{ a, b, c rune }
	var newDecomp []decompEntry
	var newCompose []composeEntry
	trigger := map[rune]bool{}
	for _, e := range newCCC {
		trigger[e.r] = true
	}
	for _, raw := range sc.Decomp {
		var c rune
		var d, prefix []rune
		var primary bool
		for i, v := range []any{&c, &d, &primary, &prefix} {
			if err := json.Unmarshal(raw[i], v); err != nil {
				log.Fatal(err)
			}
		}
		if !isNew[c] {
			if got := []rune(norm.NFD.String(string(c))); string(got) != string(d) {
				log.Fatalf("gennorm: %U: x/text decomposes an old character differently (%U vs %U)", c, got, d)
			}
			continue
		}
		newDecomp = append(newDecomp, decompEntry{c, d})
		trigger[c] = true
		if primary {
			if len(prefix) != 1 {
				log.Fatalf("gennorm: %U: decomposition prefix %U is not one character", c, prefix)
			}
			newCompose = append(newCompose, composeEntry{prefix[0], d[len(d)-1], c})
			for _, r := range []rune{prefix[0], d[len(d)-1]} {
				if isNew[r] {
					trigger[r] = true
				}
			}
		}
	}
	sort.Slice(newCompose, func(i, j int) bool {
		if newCompose[i].a != newCompose[j].a {
			return newCompose[i].a < newCompose[j].a
		}
		return newCompose[i].b < newCompose[j].b
	})
	var trig []rune
	for r := range trigger {
		trig = append(trig, r)
	}
	sort.Slice(trig, func(i, j int) bool { return trig[i] < trig[j] })

	var b strings.Builder
	fmt.Fprintf(&b, "// Code generated by internal/gennorm from Node.js %s (ICU %s); DO NOT EDIT.\n\npackage tokenizer\n\n", sc.Node, sc.ICU)
	fmt.Fprintf(&b, "// normUnicodeVersion is the Unicode version the tables below bring NFC up to.\nconst normUnicodeVersion = %q\n\n", sc.Version)
	fmt.Fprintf(&b, "// newCCC holds the non-zero canonical combining classes of characters newer\n// than x/text's tables, sorted by rune. Only their relative order is exact.\nvar newCCC = []cccEntry{\n")
	for _, e := range newCCC {
		fmt.Fprintf(&b, "\t{0x%04X, %d},\n", e.r, e.ccc)
	}
	fmt.Fprintf(&b, "}\n\n// newDecomp holds the full canonical decompositions of those characters.\nvar newDecomp = []decompEntry{\n")
	for _, e := range newDecomp {
		fmt.Fprintf(&b, "\t{0x%04X, %q},\n", e.r, string(e.d))
	}
	fmt.Fprintf(&b, "}\n\n// newCompose holds their primary compositions (a, b) -> c, sorted by (a, b).\nvar newCompose = []composeEntry{\n")
	for _, e := range newCompose {
		fmt.Fprintf(&b, "\t{0x%04X, 0x%04X, 0x%04X},\n", e.a, e.b, e.c)
	}
	fmt.Fprintf(&b, "}\n\n// normTrigger lists, sorted, the characters whose presence needs the\n// extended NFC path.\nvar normTrigger = []rune{\n")
	for i, r := range trig {
		if i%8 == 0 {
			b.WriteString("\t")
		}
		fmt.Fprintf(&b, "0x%04X, ", r)
		if i%8 == 7 || i == len(trig)-1 {
			b.WriteString("\n")
		}
	}
	b.WriteString("}\n")
	src, err := format.Source([]byte(b.String()))
	if err != nil {
		log.Fatalf("gennorm: format: %v", err)
	}
	if err := os.WriteFile("norm_tables.go", src, 0o644); err != nil {
		log.Fatal(err)
	}
	log.Printf("gennorm: Unicode %s: %d new characters, %d new marks with a class, %d decompositions, %d compositions",
		sc.Version, len(isNew), len(newCCC), len(newDecomp), len(newCompose))
}
