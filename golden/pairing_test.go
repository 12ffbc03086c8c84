package golden

import (
	"strings"
	"testing"
)

func TestSetArms(t *testing.T) {
	var p Pairing
	if err := p.SetArms(Arms{Run: "r", Prompts: " simple, complex"}); err != nil || p.Run != "r" || p.PromptA != "simple" || p.PromptB != "complex" {
		t.Errorf("run form: %+v, %v", p, err)
	}
	p = Pairing{}
	if err := p.SetArms(Arms{A: "a", B: "b", Prompt: "complex"}); err != nil || p.A != "a" || p.B != "b" || p.Prompt != "complex" {
		t.Errorf("a/b form: %+v, %v", p, err)
	}
	for _, c := range []struct {
		a    Arms
		want string
	}{
		{Arms{Run: "r", A: "a", Prompts: "x,y"}, "use either --a/--b or --run/--prompts"},
		{Arms{Run: "r", Prompts: "x,x"}, "--run needs --prompts A,B"},
		{Arms{Run: "r", Prompts: "x"}, "--run needs --prompts A,B"},
		{Arms{A: "a", B: "b", PromptsSet: true}, "--prompts goes with --run"},
		{Arms{A: "a"}, "give --a RUN --b RUN"},
	} {
		if err := (&Pairing{}).SetArms(c.a); err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.a, err, c.want)
		}
	}
}

func TestPairingCheck(t *testing.T) {
	ok := Pairing{Options: CompareOptions{Alpha: 0.05, Power: 0.8, Conf: 0.95, Resamples: 10}}
	if err := ok.Check(); err != nil {
		t.Fatal(err)
	}
	for _, change := range []func(*Pairing){
		func(p *Pairing) { p.Top = -1 },
		func(p *Pairing) { p.Options.Resamples = 0 },
		func(p *Pairing) { p.Options.Alpha = 1 },
		func(p *Pairing) { p.Options.Power = 0.4 },
		func(p *Pairing) { p.Options.Conf = 0 },
	} {
		p := ok
		change(&p)
		if err := p.Check(); err == nil {
			t.Errorf("%+v: no error", p)
		}
	}
}
