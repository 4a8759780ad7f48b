package cmd

import (
	"errors"
	"fmt"

	"github.com/nodenet/nodenet/netcore"
)

// Exit statuses. isip and block check use 0/1 for their answer, like grep.
const (
	exitOK      = 0
	exitFailure = 1 // a network or runtime failure
	exitUsage   = 2 // a bad flag, argument, address, rule or config value
)

// UsageError is a command-line mistake: it exits 2.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// usageErrorf returns a UsageError with a formatted message.
func usageErrorf(format string, a ...any) error {
	return &UsageError{Err: fmt.Errorf(format, a...)}
}

// ExitError ends the process with Code; Main prints Err when it is not nil.
// Commands whose exit status is an answer (isip, block check) return it with
// a nil Err.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}
func (e *ExitError) Unwrap() error { return e.Err }

// argumentCodes are Node's codes for an invalid argument: a usage error
// when they reach the command line.
var argumentCodes = map[string]bool{
	"ERR_SOCKET_BAD_PORT":    true,
	"ERR_INVALID_ARG_VALUE":  true,
	"ERR_INVALID_ARG_TYPE":   true,
	"ERR_INVALID_ADDRESS":    true,
	"ERR_INVALID_IP_ADDRESS": true,
	"ERR_OUT_OF_RANGE":       true,
	"ERR_MISSING_ARGS":       true,
	"ERR_INVALID_FD_TYPE":    true,
}

// exitCode is the one mapping from an error to the process's exit status.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	var ran *ranError
	if !errors.As(err, &ran) {
		// cobra's own errors (unknown flag or command, argument count,
		// required flags, flag groups) and config errors, all raised
		// before a command runs.
		return exitUsage
	}
	var ue *UsageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	// netcore.Error is also blocklist.Error: one type for every Node error.
	var ne *netcore.Error
	if errors.As(err, &ne) && (argumentCodes[ne.Code] || ne.Usage) {
		return exitUsage
	}
	return exitFailure
}
