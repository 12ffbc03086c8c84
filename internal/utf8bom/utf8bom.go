// Package utf8bom removes the UTF-8 byte order mark that Windows editors and
// some exporters put at the start of text files. Python reads such JSON with
// encoding="utf-8-sig", which drops one leading BOM; Go's encoding/json
// rejects it ("invalid character 'ï'"). Every JSON input medbench reads goes
// through Trim first, so that a file Python accepts is accepted here too.
package utf8bom

import "bytes"

// BOM is the UTF-8 encoding of U+FEFF.
const BOM = "\xef\xbb\xbf"

// Trim returns b without one leading UTF-8 BOM (as Python's utf-8-sig
// codec decodes it); b is returned unchanged when it has none.
func Trim(b []byte) []byte { return bytes.TrimPrefix(b, []byte(BOM)) }

// Len is the length of the BOM at the start of b: 3 or 0. Readers that
// report byte offsets into the file skip this many bytes instead of
// slicing, so that their offsets stay those of the file.
func Len(b []byte) int {
	if bytes.HasPrefix(b, []byte(BOM)) {
		return len(BOM)
	}
	return 0
}
