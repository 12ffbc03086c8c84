package main

import "fmt"

// Exit codes.
const (
	exitOK         = 0
	exitRegression = 1 // check found a regression; validate found problems
	exitUsage      = 2 // usage, input or infrastructure error
)

// exitError carries an exit code through urfave/cli.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// usageErr reports a usage or input error (exit 2).
func usageErr(format string, a ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, a...)}
}

// inputErr wraps an input/infrastructure error (exit 2).
func inputErr(err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: exitUsage, err: err}
}

// failErr reports a regression or validation failure (exit 1). A nil err
// exits 1 silently (the command has already printed its report).
func failErr(err error) error { return &exitError{code: exitRegression, err: err} }
