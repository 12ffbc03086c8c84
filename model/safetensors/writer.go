package safetensors

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
)

// WriteTensor is one tensor to write.
type WriteTensor struct {
	Name  string
	DType DType
	Shape []int64
}

func (t *WriteTensor) bytes() int64 {
	n := int64(t.DType.Size())
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// SortForWrite orders tensors as the Rust library's serializer does: by
// dtype, larger alignment first (descending Dtype enum order), then by name
// (byte order).
func SortForWrite(ts []WriteTensor) {
	sort.SliceStable(ts, func(i, j int) bool {
		ri, rj := ts[i].DType.rank(), ts[j].DType.rank()
		if ri != rj {
			return ri > rj
		}
		return ts[i].Name < ts[j].Name
	})
}

// EncodeHeader returns the 8-byte length and the header of a file holding
// tensors (sorted with SortForWrite first), as the Rust library writes it:
// compact JSON, "__metadata__" first with its keys sorted, each entry's
// fields in the order dtype, shape, data_offsets, offsets contiguous from 0,
// padded with spaces to a multiple of 8 bytes.
func EncodeHeader(metadata map[string]string, tensors []WriteTensor) ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	if metadata != nil {
		b.WriteString(`"__metadata__":{`)
		keys := make([]string, 0, len(metadata))
		for k := range metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(&b, k)
			b.WriteByte(':')
			writeString(&b, metadata[k])
		}
		b.WriteByte('}')
		first = false
	}
	seen := map[string]bool{}
	off := int64(0)
	for _, t := range tensors {
		if t.Name == metaKey || seen[t.Name] {
			return nil, fmt.Errorf("safetensors: bad or duplicate tensor name %q", t.Name)
		}
		seen[t.Name] = true
		if t.DType.Size() == 0 {
			return nil, fmt.Errorf("safetensors: tensor %s: unknown dtype %q", t.Name, t.DType)
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		writeString(&b, t.Name)
		b.WriteString(`:{"dtype":`)
		writeString(&b, string(t.DType))
		b.WriteString(`,"shape":[`)
		for i, d := range t.Shape {
			if d < 0 {
				return nil, fmt.Errorf("safetensors: tensor %s: negative dim in %v", t.Name, t.Shape)
			}
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.FormatInt(d, 10))
		}
		n := t.bytes()
		fmt.Fprintf(&b, `],"data_offsets":[%d,%d]}`, off, off+n)
		off += n
	}
	b.WriteByte('}')
	for b.Len()%8 != 0 {
		b.WriteByte(' ')
	}
	out := make([]byte, 8, 8+b.Len())
	binary.LittleEndian.PutUint64(out, uint64(b.Len()))
	return append(out, b.Bytes()...), nil
}

// writeString writes s as serde_json (and Python's json with
// ensure_ascii=False) do: only '"', '\\' and control characters escaped.
func writeString(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\b':
			b.WriteString(`\b`)
		case c == '\f':
			b.WriteString(`\f`)
		case c < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}

// Write writes a safetensors file to w: the header of tensors (which it
// sorts with SortForWrite), then each tensor's bytes from data, which must
// write exactly the tensor's length (elements × dtype size, little-endian).
func Write(w io.Writer, metadata map[string]string, tensors []WriteTensor, data func(t WriteTensor, w io.Writer) error) error {
	SortForWrite(tensors)
	head, err := EncodeHeader(metadata, tensors)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	if _, err := bw.Write(head); err != nil {
		return err
	}
	for _, t := range tensors {
		cw := &countWriter{w: bw}
		if err := data(t, cw); err != nil {
			return fmt.Errorf("safetensors: tensor %s: %w", t.Name, err)
		}
		if cw.n != t.bytes() {
			return fmt.Errorf("safetensors: tensor %s: wrote %d bytes, want %d", t.Name, cw.n, t.bytes())
		}
	}
	return bw.Flush()
}

// WriteFile writes path atomically (a temporary file renamed into place).
func WriteFile(path string, metadata map[string]string, tensors []WriteTensor, data func(t WriteTensor, w io.Writer) error) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	err = Write(f, metadata, tensors, data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("safetensors: %s: %w", path, err)
	}
	return nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// AppendFloat32 appends v encoded as dtype (F32 or BF16, rounded to nearest
// even) to b.
func AppendFloat32(b []byte, dtype DType, v []float32) ([]byte, error) {
	switch dtype {
	case F32:
		for _, x := range v {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
		}
	case BF16:
		for _, x := range v {
			b = binary.LittleEndian.AppendUint16(b, BF16Bits(x))
		}
	default:
		return b, fmt.Errorf("safetensors: cannot encode float32 as %s", dtype)
	}
	return b, nil
}
