package datasets

import (
	"context"
	"strings"
	"testing"
)

// TestParquetWithoutSubsetColumn: a parquet file with no subset column is
// refused naming the missing column and the columns found, by the loader
// and by validate, not read as rows of "unknown subset """.
func TestParquetWithoutSubsetColumn(t *testing.T) {
	type noSubset struct {
		Image    string   `parquet:"image"`
		Question string   `parquet:"question"`
		Options  []string `parquet:"options,list"`
		Answer   string   `parquet:"answer"`
	}
	p := writeParquet(t, []noSubset{{Image: "a.png", Question: "Q", Options: []string{"a", "b"}, Answer: "a"}})
	want := []string{p, `no column "subset"`, "columns: image, question, options, answer", "--col-*"}
	_, err := LoadParquet(p, ColumnMap{}, "")
	if err == nil {
		t.Fatal("loaded")
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("load: %q lacks %q", err, w)
		}
	}
	if strings.Contains(err.Error(), "unknown subset") {
		t.Errorf("load: %q", err)
	}
	_, err = ValidateParquet(context.Background(), p, ColumnMap{}, "", DefaultModalityMap())
	if err == nil || !strings.Contains(err.Error(), `no column "subset"`) {
		t.Errorf("validate: %v", err)
	}
	// --col-subset naming a column that is absent is named as such.
	_, err = LoadParquet(p, ColumnMap{Subset: "modality"}, "")
	if err == nil || !strings.Contains(err.Error(), `no column "modality"`) {
		t.Errorf("--col-subset modality: %v", err)
	}
}
