package cmd

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets testscript run nodenet as a re-exec of this test binary.
func TestMain(m *testing.M) {
	if os.Getenv("NODENET_TEST_UNDER_WINE") != "" {
		// Wine cannot remove the running binary that testscript links in
		// as nodenet, and that failed cleanup fails the run; the Windows
		// tests that run under Wine call nodenet in-process.
		os.Exit(m.Run())
	}
	testscript.Main(m, map[string]func(){
		"nodenet": func() { os.Exit(Main()) },
	})
}

// TestScripts runs every cmd/testdata/script/*.txtar: one script per
// behaviour, named <command>_<aspect>.txtar. Scripts start servers in the
// background (`exec nodenet listen 0 --ready-file ready &srv&`) and wait for
// the ready file with `waitfile`.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		RequireExplicitExec: true,
		Deadline:            time.Now().Add(5 * time.Minute),
		Setup: func(e *testscript.Env) error {
			// No config from the developer's home leaks into a script.
			e.Setenv("XDG_CONFIG_HOME", filepath.Join(e.WorkDir, ".config"))
			e.Setenv("NO_COLOR", "")
			for _, k := range []string{"CI", "NODENET_TEST_NODE26"} {
				e.Setenv(k, os.Getenv(k))
			}
			return nil
		},
		Cmds:      scriptCmds,
		Condition: scriptCondition,
	})
}
