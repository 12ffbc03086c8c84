//go:build linux || darwin

package safetensors

import (
	"os"
	"syscall"
)

// mmap maps the whole file read-only; nil when it cannot (empty file,
// unsupported file system): the reader then falls back to ReadAt.
func mmap(f *os.File, size int64) []byte {
	if size <= 0 || int64(int(size)) != size {
		return nil
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil
	}
	return b
}

func munmap(b []byte) { _ = syscall.Munmap(b) }

// release drops the mapped pages of [start, end) from this process's
// resident set (the file's pages stay in the page cache; a later read
// faults them back in).
func release(b []byte, start, end int64) {
	page := int64(os.Getpagesize())
	s := start / page * page
	e := min((end+page-1)/page*page, int64(len(b)))
	if e > s {
		_ = syscall.Madvise(b[s:e], syscall.MADV_DONTNEED)
	}
}
