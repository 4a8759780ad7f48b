package cmd

import (
	"os"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

var scriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	// waitfile FILE [VAR]: wait up to 20s for FILE to exist and hold a
	// line, then set VAR (if given) to its contents. Servers started with
	// --ready-file write their bound address there once listening.
	"waitfile": func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) < 1 || len(args) > 2 {
			ts.Fatalf("usage: waitfile FILE [VAR]")
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			b, err := os.ReadFile(ts.MkAbs(args[0]))
			if err == nil && strings.HasSuffix(string(b), "\n") {
				if len(args) == 2 {
					ts.Setenv(args[1], strings.TrimSpace(string(b)))
				}
				return
			}
			if time.Now().After(deadline) {
				ts.Fatalf("waitfile %s: not written within 20s", args[0])
			}
			time.Sleep(10 * time.Millisecond)
		}
	},
}
