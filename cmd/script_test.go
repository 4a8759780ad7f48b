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
	var run testscript.TestingM = m
	// No test writes to the developer's cache: every nodenet these tests
	// run, in process or as a child, caches under one temporary directory
	// (children inherit it rather than making their own).
	if os.Getenv(testCacheEnv) == "" {
		dir, err := os.MkdirTemp("", "nodenet-test-cache")
		if err != nil {
			panic(err)
		}
		os.Setenv(testCacheEnv, dir)
		os.Setenv("XDG_CACHE_HOME", dir) // os.UserCacheDir on Unix
		os.Setenv("LocalAppData", dir)   // and on Windows
		run = &removeAfter{m, dir}
	}
	if os.Getenv("NODENET_TEST_UNDER_WINE") != "" {
		// Wine cannot remove the running binary that testscript links in
		// as nodenet, and that failed cleanup fails the run; the Windows
		// tests that run under Wine call nodenet in-process.
		os.Exit(run.Run())
	}
	testscript.Main(run, map[string]func(){
		"nodenet": func() { os.Exit(Main()) },
	})
}

// testCacheEnv names the test run's cache directory, once TestMain has
// made it.
const testCacheEnv = "NODENET_TEST_CACHE_DIR"

// removeAfter runs the tests, then removes dir.
type removeAfter struct {
	*testing.M
	dir string
}

func (r *removeAfter) Run() int {
	code := r.M.Run()
	os.RemoveAll(r.dir)
	return code
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
			e.Setenv("XDG_CACHE_HOME", filepath.Join(e.WorkDir, ".cache"))
			e.Setenv(testCacheEnv, e.Getenv("XDG_CACHE_HOME")) // made: see TestMain
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
