package golden

import (
	"bytes"
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestRepeatCheck(t *testing.T) {
	ok := Repeat{K: 2, Work: "w", EvalArgs: []string{"--data", "d.json"}}
	if err := ok.Check(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		r    Repeat
		want string
	}{
		{Repeat{K: 1, Work: "w", EvalArgs: []string{"--x"}}, "--repeat must be at least 2, got 1"},
		{Repeat{K: 2, EvalArgs: []string{"--x"}}, "--repeat needs --work DIR"},
		{Repeat{K: 2, Work: "w"}, "--repeat needs the eval arguments after --"},
		{Repeat{K: 2, Work: "w", EvalArgs: []string{"--seed=3"}}, `eval argument "--seed=3" is set by calibrate itself`},
		{Repeat{K: 2, Work: "w", EvalArgs: []string{"-out", "x"}}, `eval argument "-out" is set by calibrate itself`},
		{Repeat{K: 2, Work: "w", EvalArgs: []string{"--resume"}}, `eval argument "--resume" is set by calibrate itself`},
	} {
		if err := c.r.Check(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.r, err, c.want)
		}
	}
}

func TestRepeatRun(t *testing.T) {
	var calls [][]string
	var log bytes.Buffer
	r := Repeat{K: 3, Work: "w", FirstSeed: 5, EvalArgs: []string{"--data", "d.json"}, Log: &log,
		Eval: func(args []string) int { calls = append(calls, args); return 0 }}
	dirs, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join("w", "seed-5"), filepath.Join("w", "seed-6"), filepath.Join("w", "seed-7")}
	if !reflect.DeepEqual(dirs, want) {
		t.Errorf("dirs %v, want %v", dirs, want)
	}
	if !reflect.DeepEqual(calls[1], []string{"--data", "d.json", "--seed", "6", "--out", want[1]}) || len(calls) != 3 {
		t.Errorf("calls %v", calls)
	}
	if !strings.Contains(log.String(), "medbench check calibrate: run 2/3: medbench eval ... --seed 6 --out "+want[1]+"\n") {
		t.Errorf("log %q", log.String())
	}
	r.Eval = func([]string) int { return 2 }
	if _, err := r.Run(context.Background()); err == nil || err.Error() != "medbench eval (seed 5) exited 2" {
		t.Errorf("failing eval: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Run(ctx); err != context.Canceled {
		t.Errorf("cancelled: %v", err)
	}
}

func TestGeneratedBy(t *testing.T) {
	if got := BlessCommand("runs/a b", "g.json", "m", "d", "abs:0"); got != "medbench check bless --run 'runs/a b' --out g.json --model m --dataset d --tolerance abs:0" {
		t.Errorf("bless: %s", got)
	}
	if got := CalibrateCommand("r1,r2", nil, "g.json", "m", "d", 2.8, 0); got != "medbench check calibrate --runs r1,r2 --out g.json --model m --dataset d --k 2.8 --floor 0" {
		t.Errorf("calibrate --runs: %s", got)
	}
	rep := &Repeat{K: 3, Work: "w", FirstSeed: 1, EvalArgs: []string{"--data", "it's.json"}}
	if got := CalibrateCommand("", rep, "g.json", "m", "d", 2.8, 0.01); got != `medbench check calibrate --repeat 3 --work w --first-seed 1 --out g.json --model m --dataset d --k 2.8 --floor 0.01 -- --data 'it'\''s.json'` {
		t.Errorf("calibrate --repeat: %s", got)
	}
	if ShellQuote("") != "''" || ShellQuote("plain") != "plain" {
		t.Error("ShellQuote")
	}
	if got := SplitRuns(" a, ,b ,"); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("SplitRuns %v", got)
	}
}
