package bench

import (
	"slices"
	"testing"

	"github.com/medbench/medbench/datasets"
)

func TestInterleaveModalities(t *testing.T) {
	var samples []datasets.Item
	for i, m := range []string{"MRI", "MRI", "MRI", "CT", "Xray", "Xray"} {
		samples = append(samples, datasets.Item{Index: i, Modality: m})
	}
	for _, tc := range []struct {
		n    int
		want []int
	}{
		{1, []int{0}},
		{4, []int{0, 3, 4, 1}},
		{5, []int{0, 3, 4, 1, 5}},
		{10, []int{0, 3, 4, 1, 5, 2}},
	} {
		var got []int
		for _, s := range Interleave(samples, tc.n) {
			got = append(got, s.Index)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("n=%d: %v, want %v", tc.n, got, tc.want)
		}
	}
	reqs := Requests(samples[:1], datasets.Template{Name: "p", Text: "Q: {Question}!"})
	if reqs[0].ID != "0" || reqs[0].Prompt != "p" || reqs[0].Text != "Q: !" || len(reqs[0].Images) != 0 {
		t.Errorf("request %+v", reqs[0])
	}
	s := datasets.Item{Index: 7, Record: datasets.Record{Problem: "which?"}, ImagePaths: []string{"a.png", "b.png"}, ImageBytes: [][]byte{nil, []byte("x")}}
	r := Requests([]datasets.Item{s}, datasets.Template{Name: "p", Text: "{Question}"})[0]
	if r.Text != "which?" || len(r.Images) != 2 || r.Images[0].Path != "a.png" || r.Images[0].Bytes != nil || string(r.Images[1].Bytes) != "x" {
		t.Errorf("request %+v", r)
	}
}
