package cmd

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

var update = flag.Bool("update", false, "rewrite completions/ and man/ from the command tree")

// TestGeneratedFiles regenerates the completion scripts and man pages and
// fails when the committed ones differ; -update (go generate ./...)
// rewrites them.
func TestGeneratedFiles(t *testing.T) {
	compDir, manDir := t.TempDir(), t.TempDir()
	if err := generateFiles(compDir, manDir); err != nil {
		t.Fatal(err)
	}
	for _, d := range []struct{ generated, committed string }{
		{compDir, filepath.Join("..", "completions")},
		{manDir, filepath.Join("..", "man")},
	} {
		if *update {
			if err := os.RemoveAll(d.committed); err != nil {
				t.Fatal(err)
			}
			if err := os.CopyFS(d.committed, os.DirFS(d.generated)); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, got := readDir(t, d.generated), readDir(t, d.committed)
		for name, w := range want {
			if g, ok := got[name]; !ok || !bytes.Equal(g, w) {
				t.Errorf("%s: stale; run go generate ./...", filepath.Join(d.committed, name))
			}
		}
		for name := range got {
			if _, ok := want[name]; !ok {
				t.Errorf("%s: not generated any more; run go generate ./...", filepath.Join(d.committed, name))
			}
		}
	}
}

// TestCompletionCommand checks that `nodenet completion SHELL` prints the
// committed script.
func TestCompletionCommand(t *testing.T) {
	for _, s := range completionShells {
		t.Run(s.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := Run([]string{"completion", s.name}, Test(nil, &out, &errOut), nil); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut.String())
			}
			want, err := os.ReadFile(filepath.Join("..", "completions", s.file))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("nodenet completion %s differs from completions/%s; run go generate ./...", s.name, s.file)
			}
		})
	}
}

func readDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	names := []string{}
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		files[n] = b
	}
	return files
}

// TestManPages renders each generated man page with groff and checks what
// a reader sees: the escapes as typed (\\.\pipe\NAME, \\), a real
// SYNOPSIS, and EXIT STATUS, ENVIRONMENT (every NODENET_* variable of the
// command's flags, and NO_COLOR) and FILES sections.
func TestManPages(t *testing.T) {
	groff, err := exec.LookPath("groff")
	if err != nil {
		t.Skip("groff is not installed (Debian: groff-base): the man pages cannot be rendered")
	}
	dir := t.TempDir()
	if err := generateFiles(t.TempDir(), dir); err != nil {
		t.Fatal(err)
	}
	render := func(name string) string {
		out, err := exec.Command(groff, "-man", "-Tutf8", "-P-cbou", filepath.Join(dir, name)).Output()
		if err != nil {
			t.Fatalf("groff %s: %v", name, err)
		}
		// One space for any run of blanks and line breaks, and the
		// hyphenation of a long word undone.
		return strings.Join(strings.Fields(strings.ReplaceAll(string(out), "‐\n", "")), " ")
	}
	root := NewCmdRoot(NewFactory(Test(nil, nil, nil)), nil)
	var pages int
	var check func(c *cobra.Command)
	check = func(c *cobra.Command) {
		if !c.IsAvailableCommand() && c.HasParent() {
			return
		}
		for _, sub := range c.Commands() {
			check(sub)
		}
		pages++
		name := strings.ReplaceAll(c.CommandPath(), " ", "-") + ".1"
		text := render(name)
		for _, want := range []string{" EXIT STATUS 0 ", " ENVIRONMENT ", " NO_COLOR ", " FILES $XDG_CONFIG_HOME/nodenet/config.yaml "} {
			if !strings.Contains(text, want) {
				t.Errorf("%s lacks %q", name, want)
			}
		}
		c.LocalFlags().VisitAll(func(fl *pflag.Flag) {
			if !isConfigFlag(fl) || fl.Hidden {
				return
			}
			env := "NODENET_" + envName(configKeys(c, fl)[0])
			if c.Root().PersistentFlags().Lookup(fl.Name) == fl {
				env = "NODENET_" + envName(fl.Name)
			}
			if !strings.Contains(text, " "+env+" --"+fl.Name) {
				t.Errorf("%s: ENVIRONMENT lacks %s for --%s", name, env, fl.Name)
			}
		})
		if strings.Contains(text, "[flags] [flags]") || strings.Contains(text, "  ") {
			t.Errorf("%s: a doubled [flags] or an empty Use: %s", name, text[:min(len(text), 300)])
		}
	}
	check(root)
	if pages < 10 {
		t.Fatalf("checked only %d pages", pages)
	}
	for name, want := range map[string]string{
		"nodenet.1":             "SYNOPSIS nodenet [-v | -vv] [-q] [--events text|json] [--no-color] [--config FILE] COMMAND [ARGS] DESCRIPTION",
		"nodenet-listen.1":      `(@name: abstract; \\.\pipe\NAME: named pipe)`,
		"nodenet-connect.1":     `(@name: abstract; \\.\pipe\NAME: named pipe)`,
		"nodenet-echo.1":        `\r \n \t \0 \\ \xHH escapes`,
		"nodenet-block.1":       "SYNOPSIS nodenet block <command> [flags]",
		"nodenet-isip.1":        "EXIT STATUS 0 every input is an IP address",
		"nodenet-block-check.1": "EXIT STATUS 0 every address is blocked 1 some address is allowed",
		"nodenet-block-add.1":   "NODENET_BLOCK_ADD_TYPE --type (NODENET_BLOCK_TYPE sets it for every block command)",
		"nodenet-block-list.1":  "$XDG_CONFIG_HOME/nodenet/blocklist.json",
		"nodenet-completion.1":  "SYNOPSIS nodenet completion bash|zsh|fish|powershell DESCRIPTION",
	} {
		name = strings.TrimSpace(name)
		if text := render(name); !strings.Contains(text, want) {
			t.Errorf("%s lacks %q:\n%s", name, want, text)
		}
	}
}
