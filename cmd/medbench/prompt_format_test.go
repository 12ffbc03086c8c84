package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEvalPromptAndPolicyErrors: a custom template declaring an unknown
// answer format and an unknown --policy are usage errors (exit 2) in one
// line naming the file or listing the known policies.
func TestEvalPromptAndPolicyErrors(t *testing.T) {
	data := evalSynth(t, 3)
	bad := filepath.Join(t.TempDir(), "bad.txt")
	if err := os.WriteFile(bad, []byte("#answer-format: letters\n{Question}"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--prompt", "mine=" + bad}, bad + `: line 1: unknown answer format "letters" (known: tagged, letter-only)`},
		{[]string{"--policy", "fuzzy"}, `unknown extraction policy "fuzzy" (known: strict, lenient)`},
	} {
		args := append([]string{"eval", "--data", data, "--runner", "replay", "--outputs", "x=none.json", "--out", t.TempDir()}, c.args...)
		code, _, stderr := cliRun(t, args...)
		if code != exitUsage || !strings.Contains(stderr, c.msg) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want %d with %q", c.args, code, stderr, exitUsage, c.msg)
		}
	}
	_, stdout, _ := cliRun(t, "eval", "--help")
	if !strings.Contains(stdout, "answer-extraction policies to score: strict (the seed's rule) and/or lenient") {
		t.Errorf("eval --help lacks the policy list:\n%s", stdout)
	}
}
