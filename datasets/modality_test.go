package datasets

import (
	"strings"
	"testing"
)

func TestCanonical(t *testing.T) {
	for _, tc := range []struct{ subset, want string }{
		// The seed's three subsets (docs/reference/medvlm-r1-seed.md#the-test-file), byte for byte.
		{"MR (Mag-netic Resonance Imaging)", MRI},
		{"CT(Computed Tomography)", CT},
		{"X-Ray", Xray},
		// OmniMedVQA's other modality_type strings (see modality.go).
		{"ultrasound", Ultrasound},
		{"Dermoscopy", Dermoscopy},
		{"Microscopy Images", Microscopy},
		{"Fundus Photography", Fundus},
		{"OCT (Optical Coherence Tomography", OCT},
		{"Xray", Xray},
	} {
		got, err := Canonical(tc.subset)
		if err != nil || got != tc.want {
			t.Errorf("Canonical(%q) = %q, %v; want %q", tc.subset, got, err, tc.want)
		}
	}
	for _, bad := range []string{"MR", "MRI(Magnetic Resonance Imaging)", "x-ray", "CT (Computed Tomography)", "Ultrasound ", ""} {
		_, err := Canonical(bad)
		if err == nil || !strings.Contains(err.Error(), `"CT(Computed Tomography)"`) {
			t.Errorf("Canonical(%q): error %v should list the known subsets", bad, err)
		}
	}
}

func TestSubsetOfRoundTrip(t *testing.T) {
	for _, m := range Modalities {
		s, ok := SubsetOf(m)
		if !ok {
			t.Fatalf("no subset for %s", m)
		}
		if got, _ := Canonical(s); got != m {
			t.Errorf("Canonical(SubsetOf(%s)) = %s", m, got)
		}
	}
	if _, ok := SubsetOf("Endoscopy"); ok {
		t.Error("SubsetOf(Endoscopy) should be false")
	}
}

func TestParseModality(t *testing.T) {
	for in, want := range map[string]string{"mri": MRI, "MR": MRI, "x-ray": Xray, "XRAY": Xray, " ct ": CT, "oct": OCT, "US": Ultrasound, "Endo": "Endo"} {
		if got := ParseModality(in); got != want {
			t.Errorf("ParseModality(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLoadModalityMapErrors(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"list":     `["a"]`,
		"number":   `{"a": 1}`,
		"empty":    `{"a": ""}`,
		"trailing": `{"a": "CT"} x`,
		"broken":   `{"a": `,
	} {
		p := writeFile(t, dir, name+".json", content)
		if _, err := LoadModalityMap(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %v should name the file", name, err)
		}
	}
	if _, err := LoadModalityMap(dir + "/absent.json"); err == nil {
		t.Error("absent file: no error")
	}
}

func TestModalityMapNames(t *testing.T) {
	m := DefaultModalityMap()
	m["Endoscopy"] = "Endoscopy"
	got := strings.Join(m.Names(), ",")
	if got != "MRI,CT,Xray,Ultrasound,Dermoscopy,Microscopy,Fundus,OCT,Endoscopy" {
		t.Errorf("Names = %s", got)
	}
}
