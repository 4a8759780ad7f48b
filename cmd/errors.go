package cmd

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nodenet/nodenet/netcore"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
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

// flagError rewrites pflag's errors about a flag's value so that each
// names the flag and what it accepts: `invalid argument "maybe" for
// "-k, --keep-open": want true or false`, not strconv's wording. cobra
// calls it (SetFlagErrorFunc) for every flag parsing error; the result is
// a usage error. A mistyped flag gets a suggestion, as a mistyped command
// does.
func flagError(cmd *cobra.Command, err error) error {
	var ive *pflag.InvalidValueError
	if errors.As(err, &ive) {
		return usageErrorf("invalid argument %q for %q: %s", ive.GetValue(), flagNames(ive.GetFlag()), flagAccepts(ive.GetFlag(), ive.Unwrap()))
	}
	var vre *pflag.ValueRequiredError
	if errors.As(err, &vre) {
		return usageErrorf("flag needs an argument: %q wants %s", flagNames(vre.GetFlag()), flagWants(vre.GetFlag()))
	}
	var nee *pflag.NotExistError
	if errors.As(err, &nee) && nee.GetSpecifiedShortnames() == "" && nee.GetSpecifiedName() != "" {
		if s := similarFlags(cmd, nee.GetSpecifiedName()); len(s) > 0 {
			return usageErrorf("%v. Did you mean %s?", err, orList(s))
		}
	}
	return usageErrorf("%w", err)
}

// similarFlags are cmd's flags, as "--name", whose names start with name
// or are a few edits from it: one edit per three letters typed, so that
// --js suggests --json but not --v4.
func similarFlags(cmd *cobra.Command, name string) []string {
	var s []string
	cmd.Flags().VisitAll(func(fl *pflag.Flag) {
		if !fl.Hidden && (strings.HasPrefix(fl.Name, name) || editDistance(fl.Name, name) <= len(name)/3) {
			s = append(s, "--"+fl.Name)
		}
	})
	return s
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// flagNames is a flag as its help shows it: "-k, --keep-open".
func flagNames(fl *pflag.Flag) string {
	if fl.Shorthand != "" && fl.ShorthandDeprecated == "" {
		return "-" + fl.Shorthand + ", --" + fl.Name
	}
	return "--" + fl.Name
}

// flagAccepts says what fl accepts after a value was refused with cause:
// "want true or false" for pflag's own types, whose causes are strconv's
// and time's wording, else the cause, which nodenet's own flag types word
// as "want ...".
func flagAccepts(fl *pflag.Flag, cause error) string {
	if w, ok := typeWants[fl.Value.Type()]; ok {
		return "want " + w
	}
	return cause.Error()
}

// flagWants is what fl takes as its value: "a duration such as 5s", "a
// PATH".
func flagWants(fl *pflag.Flag) string {
	if w, ok := typeWants[fl.Value.Type()]; ok {
		return w
	}
	name, _ := pflag.UnquoteUsage(fl)
	if name == "" {
		name = "value"
	}
	return "a " + name
}

// typeWants describes the values of pflag's value types that nodenet uses.
var typeWants = map[string]string{
	"bool":     "true or false",
	"count":    "a count such as 2",
	"int":      "an integer",
	"int64":    "an integer",
	"uint":     "an integer >= 0",
	"uint8":    "an integer from 0 to 255",
	"uint16":   "an integer from 0 to 65535",
	"uint32":   "an integer >= 0",
	"uint64":   "an integer >= 0",
	"float64":  "a number",
	"duration": "a duration such as 500ms, 5s or 1m30s",
}
