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
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
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

// manDate is the date on every generated man page. It is pinned so that
// the committed pages change only when the commands do; move it when a
// release changes them.
var manDate = time.Date(2026, time.November, 22, 0, 0, 0, 0, time.UTC)

// manSynopsis is the root page's SYNOPSIS: the global flags, then a
// command.
const manSynopsis = "nodenet [-v | -vv] [-q] [--events text|json] [--no-color] [--config FILE] COMMAND [ARGS]"

// generateFiles writes the completion scripts into compDir and one man
// page per command into manDir, from the command tree. TestGeneratedFiles
// compares them with the committed completions/ and man/, and go generate
// rewrites those.
//
// The generator lives in a test file: cobra/doc brings go-md2man and
// blackfriday, whose package init alone would cost every nodenet start
// about 0.25 ms.
func generateFiles(compDir, manDir string) error {
	root := NewCmdRoot(NewFactory(Test(nil, nil, nil)), nil)
	root.Version = "" // the pages do not change with the build
	for _, s := range completionShells {
		var b bytes.Buffer
		if err := writeCompletion(root, s.name, &b); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(compDir, s.file), b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	// The man pages are made from a tree of their own, whose texts are
	// escaped for cobra's man generator.
	root = NewCmdRoot(NewFactory(Test(nil, nil, nil)), nil)
	root.Version = ""
	root.Use = manSynopsis
	root.DisableFlagsInUseLine = true
	root.InitDefaultHelpCmd()
	return writeManTree(root, manDir, map[*pflag.Flag]bool{})
}

// writeManTree writes the man page of c and of each of its commands.
// seen holds the flags whose texts are escaped already (the root's
// persistent flags are every command's).
func writeManTree(c *cobra.Command, dir string, seen map[*pflag.Flag]bool) error {
	for _, sub := range c.Commands() {
		if !sub.IsAvailableCommand() || sub.IsAdditionalHelpTopicCommand() {
			continue
		}
		if err := writeManTree(sub, dir, seen); err != nil {
			return err
		}
	}
	c.DisableAutoGenTag = true
	// Sections of our own go after OPTIONS, before EXAMPLE and SEE ALSO,
	// in man-pages(7)'s order; they are written in roff directly.
	extra := manExitStatus(c) + manEnvironment(c) + manFiles(c)
	escapeForMan(c, seen)
	var b bytes.Buffer
	if err := doc.GenMan(c, &doc.GenManHeader{
		Section: "1",
		Date:    &manDate,
		Source:  "nodenet",
		Manual:  "nodenet manual",
	}, &b); err != nil {
		return err
	}
	page := b.String()
	at := len(page)
	for _, next := range []string{"\n.SH EXAMPLE\n", "\n.SH SEE ALSO\n"} {
		if i := strings.Index(page, next); i >= 0 && i+1 < at {
			at = i + 1
		}
	}
	page = page[:at] + extra + page[at:]
	name := strings.ReplaceAll(c.CommandPath(), " ", "-") + ".1"
	return os.WriteFile(filepath.Join(dir, name), []byte(page), 0o644)
}

// escapeForMan escapes c's texts, and those of its flags not yet in
// seen, for cobra's man generator, which reads them as Markdown: there,
// `\\.\pipe\` would lose a backslash and `<command>` would vanish as an
// HTML tag. Backquoted names (`PATH`) stay Markdown, shown in bold.
func escapeForMan(c *cobra.Command, seen map[*pflag.Flag]bool) {
	c.Use = markdownEscape(c.Use)
	c.Short = markdownEscape(c.Short)
	c.Long = markdownEscape(c.Long)
	c.Flags().VisitAll(func(fl *pflag.Flag) {
		if !seen[fl] {
			seen[fl] = true
			fl.Usage = markdownEscape(fl.Usage)
			fl.DefValue = markdownEscape(fl.DefValue)
		}
	})
}

// markdownEscape backslash-escapes the characters Markdown would read as
// markup, except the backquote.
func markdownEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`\*_[]<>`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// roffEscape makes s safe as roff text: a backslash is \e, a dash \- (a
// real minus, as options are written), and a line may not start with a
// dot or a quote.
func roffEscape(s string) string {
	s = strings.NewReplacer(`\`, `\e`, "-", `\-`).Replace(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

// manItem is a roff tagged paragraph: tag in bold, then text.
func manItem(tag, text string) string {
	return ".TP\n\\fB" + roffEscape(tag) + "\\fR\n" + roffEscape(text) + "\n"
}

// manExitStatus is the EXIT STATUS section: isip and block check answer
// with their status, like grep.
func manExitStatus(c *cobra.Command) string {
	s := ".SH EXIT STATUS\n"
	switch strings.TrimPrefix(c.CommandPath(), "nodenet ") {
	case "isip":
		return s + manItem("0", "every input is an IP address (of the family asked with -4 or -6)") +
			manItem("1", "some input is not") +
			manItem("2", "a usage error: a bad flag or config value")
	case "block check":
		return s + manItem("0", "every address is blocked") +
			manItem("1", "some address is allowed") +
			manItem("2", "a usage error: a bad flag, address, rule file or config value")
	case "completion":
		return s + manItem("0", "the script was written") +
			manItem("2", "a usage error: no shell, or one that is not bash, zsh, fish or powershell")
	}
	s += manItem("0", "success") +
		manItem("1", "a failure at run time: a refused or reset connection, a write error, a rule file that cannot be written") +
		manItem("2", "a usage error: a bad flag, port, address, rule or config value")
	if !c.HasParent() {
		s += ".PP\n" + roffEscape("isip and block check answer with 0 and 1, like grep.") + "\n"
	}
	return s
}

// manEnvironment is the ENVIRONMENT section: the NODENET_* variable of
// every flag the command reads from the config, the top-level ones, and
// the variables nodenet reads otherwise.
func manEnvironment(c *cobra.Command) string {
	s := ".SH ENVIRONMENT\n.PP\n" + roffEscape("Every flag can be set as NODENET_<COMMAND>_<FLAG>, with dashes as "+
		"underscores; the command line wins over the environment, which wins over the config file. "+
		"An empty value counts as set.") + "\n"
	root := c.Root()
	flags := c.NonInheritedFlags()
	if c.HasParent() {
		flags = c.LocalFlags()
	}
	flags.VisitAll(func(fl *pflag.Flag) {
		if !isConfigFlag(fl) || fl.Hidden {
			return
		}
		if root.PersistentFlags().Lookup(fl.Name) == fl {
			s += manItem("NODENET_"+envName(fl.Name), "--"+fl.Name+" (NODENET_<COMMAND>_"+envName(fl.Name)+" sets it for one command)")
			return
		}
		keys := configKeys(c, fl)
		text := "--" + fl.Name
		if len(keys) > 1 {
			text += " (NODENET_" + envName(keys[1]) + " sets it for every " + strings.TrimPrefix(c.Parent().CommandPath(), "nodenet ") + " command)"
		}
		s += manItem("NODENET_"+envName(keys[0]), text)
	})
	path := strings.TrimPrefix(c.CommandPath(), "nodenet ")
	if !c.HasParent() || strings.HasPrefix(path, "block") {
		s += manItem("NODENET_BLOCKLIST", "the rule file of the block commands when --file is not given (the config file's blocklist key is next)")
	}
	s += manItem("NO_COLOR", "when set to anything but the empty string, stderr is never coloured (as --no-color), see https://no-color.org") +
		manItem("XDG_CONFIG_HOME", "where the config file is looked for (default ~/.config, from HOME)")
	return s
}

// manFiles is the FILES section: the config file, and the rule file of
// the block commands.
func manFiles(c *cobra.Command) string {
	s := ".SH FILES\n" + manItem("$XDG_CONFIG_HOME/nodenet/config.yaml",
		"the config file, unless --config names another: keys <command>.<flag> (connect.timeout: 5s), "+
			"the root's flags also at the top level; a key no command reads is ignored with a warning. "+
			"--config reads YAML, TOML or JSON by the file's extension (.yaml, .yml, .toml, .json).")
	path := strings.TrimPrefix(c.CommandPath(), "nodenet ")
	if !c.HasParent() || strings.HasPrefix(path, "block") {
		s += manItem("$XDG_CONFIG_HOME/nodenet/blocklist.json",
			"the rule file of the block commands when neither --file, NODENET_BLOCKLIST nor the config's blocklist key names one: "+
				"a JSON array of Node's rule strings, as blockList.toJSON() writes them")
	}
	return s
}
