//go:build race

package cmd

// raceEnabled: the test binary, and nodenet re-executed from it, run with
// the race detector, which takes several times the memory.
const raceEnabled = true
