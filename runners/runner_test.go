package runners

import (
	"encoding/json"
	"testing"
)

// infoMap is how manifests recorded runner info before Info was typed: a
// map with the empty fields left out (name always kept).
func infoMap(info Info) map[string]any {
	m := map[string]any{"name": info.Name}
	if info.Model != "" {
		m["model"] = info.Model
	}
	if info.Device != "" {
		m["device"] = info.Device
	}
	if info.Runtime != "" {
		m["runtime"] = info.Runtime
	}
	if len(info.Files) > 0 {
		m["files"] = info.Files
	}
	if len(info.Settings) > 0 {
		m["settings"] = info.Settings
	}
	return m
}

// TestInfoJSONAsMap: the typed Info marshals to the bytes the map did, so
// that manifests stay byte-identical.
func TestInfoJSONAsMap(t *testing.T) {
	if b, err := json.Marshal(Info{}); err != nil || string(b) != "null" {
		t.Errorf("no runner: %s, %v; want null (a nil map)", b, err)
	}
	var back Info
	if err := json.Unmarshal([]byte("null"), &back); err != nil || back.Name != "" || back.Files != nil {
		t.Errorf("null read back as %+v, %v", back, err)
	}
	for _, info := range []Info{
		{Name: "", Model: "m"},
		{Name: "replay", Files: map[string]string{"out.json": "12ab"}},
		{Name: "qwen2vl-onnx", Model: "m/<tiny>", Device: "cpu", Runtime: "onnxruntime 1.29.0",
			Files:    map[string]string{"onnx/b.onnx": "2", "config.json": "1"},
			Settings: map[string]any{"threads": 0, "max_pixels": 401408, "sampling": Sampling{MaxNewTokens: 8}, "rgba": "white"}},
		{Name: "openai", Model: "tiny", Settings: map[string]any{}},
	} {
		got, err := json.Marshal(info)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(infoMap(info))
		if string(got) != string(want) {
			t.Errorf("%+v:\n got %s\nwant %s", info, got, want)
		}
	}
}
