package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// exitInterrupted is the exit status of a command stopped by Ctrl-C
// (SIGINT/SIGTERM), as shells report 128+SIGINT.
const exitInterrupted = 130

// interruptedErr reports an interrupted command (exit 130).
func interruptedErr(format string, a ...any) error {
	return &exitError{code: exitInterrupted, err: fmt.Errorf(format, a...)}
}

// abortGrace is how long a second Ctrl-C waits for the command to return
// after cancelling its context before the process exits anyway (an ONNX
// Runtime call cannot be interrupted). Records are appended and fsynced
// per batch and checkpoints are marked complete last, so exiting never
// leaves a record or checkpoint that resume would misread.
const abortGrace = 2 * time.Second

// twoStageInterrupt turns SIGINT/SIGTERM into a two-stage stop. The first
// signal prints ack on w at once and closes stop: the command finishes what
// it is doing (a batch, an optimizer step), saves, and returns. The second
// prints abort and cancels ctx; if the command has not returned within
// abortGrace the process exits with status 130. release stops listening.
func twoStageInterrupt(parent context.Context, w io.Writer, ack, abort string) (ctx context.Context, stop <-chan struct{}, release func()) {
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
		case <-time.After(abortGrace):
			fmt.Fprintf(w, "medbench: still running %s after the second interrupt; exiting now\n", abortGrace)
			os.Exit(exitInterrupted)
		case <-quit:
		}
	}()
	return ctx, stopCh, func() {
		signal.Stop(sigs)
		close(quit)
		cancel()
	}
}
