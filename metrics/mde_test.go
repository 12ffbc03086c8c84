package metrics

import (
	"math"
	"testing"
)

func TestMDE(t *testing.T) {
	// want: mpmath findroot of Connor's equation at 40 digits.
	tests := []struct {
		n          int
		psi, a, pw float64
		want       float64
	}{
		{300, 0.2, 0.05, 0.8, 0.072052724077581264822},
		{900, 0.1, 0.05, 0.9, 0.034089850905201897387},
		{50, 0.3, 0.01, 0.8, 0.25708709312685258535},
	}
	for _, tt := range tests {
		got := MDE(tt.n, tt.psi, tt.a, tt.pw)
		if math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("MDE(%d, %v, %v, %v) = %.15g, want %.15g", tt.n, tt.psi, tt.a, tt.pw, got, tt.want)
		}
		// Round trip through the forward sample-size formula.
		if n := ConnorN(got, tt.psi, tt.a, tt.pw); math.Abs(n-float64(tt.n)) > 1e-6 {
			t.Errorf("ConnorN(MDE) = %v, want %d", n, tt.n)
		}
	}
	// More items detect smaller differences.
	if !(MDE(1200, 0.2, 0.05, 0.8) < MDE(300, 0.2, 0.05, 0.8)) {
		t.Error("MDE does not shrink with n")
	}
	// No discordance, or too few items to detect anything up to ψ.
	if !math.IsInf(MDE(300, 0, 0.05, 0.8), 1) {
		t.Error("ψ = 0: want +Inf")
	}
	if !math.IsInf(MDE(1, 0.05, 0.05, 0.8), 1) {
		t.Error("n = 1, ψ = 0.05: want +Inf")
	}
	for _, c := range []struct {
		n          int
		psi, a, pw float64
	}{{0, 0.2, 0.05, 0.8}, {10, -0.1, 0.05, 0.8}, {10, 0.2, 0, 0.8}, {10, 0.2, 0.05, 0.4}, {10, 0.2, 0.05, 1}} {
		if !math.IsNaN(MDE(c.n, c.psi, c.a, c.pw)) {
			t.Errorf("MDE%+v: want NaN", c)
		}
	}
}

func TestConnorNTextbook(t *testing.T) {
	// Hand computation: δ = 0.1, ψ = 0.3, α = 0.05, power 0.8:
	// (1.959964·√0.3 + 0.841621·√0.29)² / 0.01 = (1.073516 + 0.453225)²·100 = 233.09.
	got := ConnorN(0.1, 0.3, 0.05, 0.8)
	if math.Abs(got-233.09) > 0.01 {
		t.Errorf("ConnorN = %v, want ≈ 233.09", got)
	}
	if !math.IsNaN(ConnorN(0.4, 0.3, 0.05, 0.8)) {
		t.Error("δ > ψ: want NaN")
	}
}
