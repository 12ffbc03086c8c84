// Package interrupt turns SIGINT/SIGTERM into the two-stage stop of the
// long-running commands: the first signal asks the command to finish what
// it is doing and save, the second aborts it.
package interrupt

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// ExitCode is the exit status of a command stopped by Ctrl-C
// (SIGINT/SIGTERM), as shells report 128+SIGINT.
const ExitCode = 130

// AbortGrace is how long a second Ctrl-C waits for the command to return
// after cancelling its context before the process exits anyway (an ONNX
// Runtime call cannot be interrupted). Records are appended and fsynced
// per batch and checkpoints are marked complete last, so exiting never
// leaves a record or checkpoint that resume would misread.
const AbortGrace = 2 * time.Second

// TwoStage turns SIGINT/SIGTERM into a two-stage stop. The first signal
// prints ack on w at once and closes stop: the command finishes what it is
// doing (a batch, an optimizer step), saves, and returns. The second prints
// abort and cancels ctx; if the command has not returned within AbortGrace
// the process exits with status ExitCode. release stops listening.
func TwoStage(parent context.Context, w io.Writer, ack, abort string) (ctx context.Context, stop <-chan struct{}, release func()) {
	ctx, cancel := context.WithCancel(parent)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	stopCh := make(chan struct{})
	quit := make(chan struct{})
	go func() {
		select {
		case <-sigs:
		case <-quit:
			return
		}
		fmt.Fprintf(w, "medbench: %s\n", ack)
		close(stopCh)
		select {
		case <-sigs:
		case <-quit:
			return
		}
		fmt.Fprintf(w, "medbench: %s\n", abort)
		cancel()
		select {
		case <-time.After(AbortGrace):
			fmt.Fprintf(w, "medbench: still running %s after the second interrupt; exiting now\n", AbortGrace)
			os.Exit(ExitCode)
		case <-quit:
		}
	}()
	return ctx, stopCh, func() {
		signal.Stop(sigs)
		close(quit)
		cancel()
	}
}
