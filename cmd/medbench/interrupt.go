package main

import (
	"fmt"

	"github.com/medbench/medbench/internal/interrupt"
)

// exitInterrupted is the exit status of a command stopped by Ctrl-C.
const exitInterrupted = interrupt.ExitCode

// interruptedErr reports an interrupted command (exit 130).
func interruptedErr(format string, a ...any) error {
	return &exitError{code: exitInterrupted, err: fmt.Errorf(format, a...)}
}
