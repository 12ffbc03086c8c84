package main

import (
	"io"
	"os"
	"testing"
)

// cliRun runs the CLI in-process, as `medbench ARGS...`, and returns the exit
// code, stdout and stderr.
func cliRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	capture := func(f **os.File) func() string {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		old := *f
		*f = w
		done := make(chan string)
		go func() { b, _ := io.ReadAll(r); done <- string(b) }()
		return func() string { w.Close(); *f = old; return <-done }
	}
	stopOut, stopErr := capture(&os.Stdout), capture(&os.Stderr)
	code := run(append([]string{"medbench"}, args...))
	errOut := stopErr()
	return code, stopOut(), errOut
}
