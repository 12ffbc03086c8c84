package safetensors

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
)

// File is an open safetensors file: its validated header and its data,
// memory-mapped where the platform allows (a ReaderAt otherwise).
type File struct {
	Path string
	*Header
	byName map[string]int
	f      *os.File
	data   []byte // mmap of the whole file, or nil
}

// Open reads and validates path's header and maps the file.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	size := st.Size()
	var head [8]byte
	if _, err := f.ReadAt(head[:], 0); err != nil && size >= 8 {
		f.Close()
		return nil, fmt.Errorf("safetensors: %s: %w", path, err)
	}
	buf := head[:]
	if size >= 8 {
		n := binary.LittleEndian.Uint64(head[:])
		if n <= MaxHeader && n <= uint64(size-8) {
			buf = make([]byte, 8+n)
			if _, err := f.ReadAt(buf, 0); err != nil {
				f.Close()
				return nil, fmt.Errorf("safetensors: %s: %w", path, err)
			}
		}
	}
	h, err := ParseHeader(path, buf, size)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	sf := &File{Path: path, Header: h, byName: make(map[string]int, len(h.Tensors)), f: f}
	for i, t := range h.Tensors {
		sf.byName[t.Name] = i
	}
	sf.data = mmap(f, size) // nil: read through f
	return sf, nil
}

// Close unmaps and closes the file.
func (f *File) Close() error {
	if f.data != nil {
		munmap(f.data)
		f.data = nil
	}
	return f.f.Close()
}

// Tensor returns a tensor's header entry.
func (f *File) Tensor(name string) (TensorInfo, bool) {
	i, ok := f.byName[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.Tensors[i], true
}

// Names returns the tensor names, sorted.
func (f *File) Names() []string {
	names := make([]string, 0, len(f.Tensors))
	for _, t := range f.Tensors {
		names = append(names, t.Name)
	}
	sort.Strings(names)
	return names
}

// chunkBytes is how many bytes one conversion step reads.
const chunkBytes = 1 << 20

// ReadFloat32 converts a BF16, F16 or F32 tensor to float32 into dst
// (len = its element count), in chunks, and then releases the pages it
// mapped so that a whole checkpoint streamed tensor by tensor never stays
// resident.
func (f *File) ReadFloat32(name string, dst []float32) error {
	t, ok := f.Tensor(name)
	if !ok {
		return fmt.Errorf("safetensors: %s: no tensor %s", f.Path, name)
	}
	conv, ok := converters[t.DType]
	if !ok {
		return fmt.Errorf("safetensors: %s: tensor %s: dtype %s, want BF16, F16 or F32", f.Path, name, t.DType)
	}
	if int64(len(dst)) != t.NumElements() {
		return fmt.Errorf("safetensors: %s: tensor %s: %d elements, buffer of %d", f.Path, name, t.NumElements(), len(dst))
	}
	es := int64(t.DType.Size())
	start, end := f.DataStart+t.Begin, f.DataStart+t.End
	var buf []byte
	if f.data == nil {
		buf = make([]byte, min(chunkBytes, end-start))
	}
	for off := start; off < end; off += chunkBytes {
		n := min(chunkBytes, end-off)
		var b []byte
		if f.data != nil {
			b = f.data[off : off+n]
		} else {
			b = buf[:n]
			if _, err := f.f.ReadAt(b, off); err != nil {
				return fmt.Errorf("safetensors: %s: tensor %s: %w", f.Path, name, err)
			}
		}
		i := (off - start) / es
		conv(dst[i:i+n/es], b)
	}
	if f.data != nil {
		release(f.data, start, end)
	}
	return nil
}

var converters = map[DType]func(dst []float32, b []byte){
	F32: func(dst []float32, b []byte) {
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	},
	BF16: func(dst []float32, b []byte) {
		for i := range dst {
			dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
		}
	},
	F16: func(dst []float32, b []byte) {
		for i := range dst {
			dst[i] = HalfToFloat32(binary.LittleEndian.Uint16(b[2*i:]))
		}
	},
}

// HalfToFloat32 converts IEEE 754 binary16 bits to float32 (exact).
func HalfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // inf, NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
	case mant == 0:
		return math.Float32frombits(sign)
	}
	// subnormal: normalise
	e := uint32(113)
	for mant&0x400 == 0 {
		mant <<= 1
		e--
	}
	return math.Float32frombits(sign | e<<23 | (mant&0x3ff)<<13)
}

// BF16Bits rounds a float32 to bfloat16 bits, to nearest with ties to even
// (what torch's .to(torch.bfloat16) computes); NaNs stay quiet NaNs.
func BF16Bits(f float32) uint16 {
	u := math.Float32bits(f)
	if f != f {
		return uint16(u>>16) | 0x40
	}
	return uint16((u + 0x7fff + (u>>16)&1) >> 16)
}

// Checkpoint is a Hugging Face checkpoint's weights: model.safetensors, or
// the shards that model.safetensors.index.json's weight_map names.
type Checkpoint struct {
	Dir   string
	Files []*File
	where map[string]*File
}

// IndexFile and SingleFile are save_pretrained's weight file names.
const (
	IndexFile  = "model.safetensors.index.json"
	SingleFile = "model.safetensors"
)

// Index is model.safetensors.index.json.
type Index struct {
	Metadata  map[string]any    `json:"metadata"`
	WeightMap map[string]string `json:"weight_map"`
}

// OpenDir opens dir's weights: the shards of model.safetensors.index.json
// when present (every tensor must be in the file the weight_map names, and
// every tensor of a shard in the weight_map), else model.safetensors.
func OpenDir(dir string) (*Checkpoint, error) {
	c := &Checkpoint{Dir: dir, where: map[string]*File{}}
	ip := filepath.Join(dir, IndexFile)
	b, err := os.ReadFile(ip)
	if os.IsNotExist(err) {
		f, err := Open(filepath.Join(dir, SingleFile))
		if err != nil {
			return nil, err
		}
		c.Files = []*File{f}
		for _, t := range f.Tensors {
			c.where[t.Name] = f
		}
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	var idx Index
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("safetensors: %s: %w", ip, err)
	}
	if len(idx.WeightMap) == 0 {
		return nil, fmt.Errorf("safetensors: %s: empty weight_map", ip)
	}
	shards := map[string]*File{}
	var names []string
	for _, s := range idx.WeightMap {
		if _, ok := shards[s]; !ok {
			if s != filepath.Base(s) || s == "" || s == "." || s == ".." {
				c.Close()
				return nil, fmt.Errorf("safetensors: %s: shard name %q is not a file in the directory", ip, s)
			}
			shards[s] = nil
			names = append(names, s)
		}
	}
	slices.Sort(names)
	for _, s := range names {
		f, err := Open(filepath.Join(dir, s))
		if err != nil {
			c.Close()
			return nil, err
		}
		shards[s] = f
		c.Files = append(c.Files, f)
		for _, t := range f.Tensors {
			if got, ok := idx.WeightMap[t.Name]; !ok || got != s {
				c.Close()
				return nil, fmt.Errorf("safetensors: %s: tensor %s is in %s but weight_map says %q", ip, t.Name, s, got)
			}
			c.where[t.Name] = f
		}
	}
	for name, s := range idx.WeightMap {
		if _, ok := c.where[name]; !ok {
			c.Close()
			return nil, fmt.Errorf("safetensors: %s: tensor %s mapped to %s, which does not hold it", ip, name, s)
		}
	}
	return c, nil
}

// Close closes every file.
func (c *Checkpoint) Close() error {
	var first error
	for _, f := range c.Files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	c.Files = nil
	return first
}

// Names returns every tensor name, sorted.
func (c *Checkpoint) Names() []string {
	names := make([]string, 0, len(c.where))
	for n := range c.where {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Tensor returns a tensor's header entry and its file.
func (c *Checkpoint) Tensor(name string) (TensorInfo, *File, bool) {
	f, ok := c.where[name]
	if !ok {
		return TensorInfo{}, nil, false
	}
	t, _ := f.Tensor(name)
	return t, f, true
}

// ReadFloat32 returns a tensor's shape and its values as float32.
func (c *Checkpoint) ReadFloat32(name string) ([]int64, []float32, error) {
	t, f, ok := c.Tensor(name)
	if !ok {
		return nil, nil, fmt.Errorf("safetensors: %s: no tensor %s", c.Dir, name)
	}
	dst := make([]float32, t.NumElements())
	if err := f.ReadFloat32(name, dst); err != nil {
		return nil, nil, err
	}
	return slices.Clone(t.Shape), dst, nil
}

var _ io.Closer = (*File)(nil)
