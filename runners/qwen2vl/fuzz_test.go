package qwen2vl

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzRopeIndex: arbitrary token rows and grids never panic; on success the
// positions of every valid slot are non-negative and the delta matches.
func FuzzRopeIndex(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 5, 5, 5, 6, 7}, uint8(2), uint8(4), uint8(4))
	f.Add([]byte{4, 5, 6, 4, 5, 5, 5, 5}, uint8(1), uint8(2), uint8(2))
	f.Fuzz(func(t *testing.T, raw []byte, rows, gh, gw uint8) {
		tok := specialTokens{imagePad: 5, visionStart: 4, visionEnd: 6, pad: 0, merge: 2}
		B := int(rows%3) + 1
		S := len(raw) / B
		if S == 0 {
			return
		}
		ids := make([]int64, B*S)
		mask := make([]int64, B*S)
		for i := range ids {
			ids[i] = int64(raw[i] % 8)
			if ids[i] != 0 || i%S > S/2 {
				mask[i] = 1
			}
		}
		var grids [][3]int64
		for i := range ids {
			if ids[i] == 4 {
				grids = append(grids, [3]int64{1, int64(gh % 7), int64(gw % 7)})
			}
		}
		pos, d, err := ropeIndex(ids, mask, B, S, grids, tok)
		if err != nil {
			return
		}
		for b := 0; b < B; b++ {
			var mx int64 = -1
			for s := 0; s < S; s++ {
				for ax := 0; ax < 3; ax++ {
					v := pos[ax*B*S+b*S+s]
					if v < 0 {
						t.Fatalf("negative position")
					}
					if mask[b*S+s] != 0 {
						mx = max(mx, v)
					}
				}
			}
			if mx >= 0 && d[b] != mx+1-int64(S) && !(len(grids) == 0 && d[b] == 2-int64(S)) {
				t.Fatalf("row %d: delta %d, max %d, S %d", b, d[b], mx, S)
			}
		}
	})
}

// FuzzReadGraphIO: a corrupt .onnx file gives an error, never a panic.
func FuzzReadGraphIO(f *testing.F) {
	f.Add([]byte{0x3a, 0x04, 0x5a, 0x02, 0x0a, 0x00})
	f.Add([]byte("not a model"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "m.onnx")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		readGraphIO(p)
	})
}
