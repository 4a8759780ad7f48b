package cmd

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// aliasBomb is a YAML document of levels anchors, each a map of width
// aliases of the one before: width^levels values once expanded.
func aliasBomb(levels, width int) string {
	var b strings.Builder
	b.WriteString("a0: &a0 {k: v}\n")
	for i := 1; i <= levels; i++ {
		fmt.Fprintf(&b, "a%d: &a%d {", i, i)
		for j := 0; j < width; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "k%d: *a%d", j, i-1)
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// listBomb is aliasBomb with lists.
func listBomb(levels, width int) string {
	var b strings.Builder
	b.WriteString("a0: &a0 [" + strings.TrimSuffix(strings.Repeat("x,", width), ",") + "]\n")
	for i := 1; i <= levels; i++ {
		fmt.Fprintf(&b, "a%d: &a%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d,", i-1), width), ","))
	}
	return b.String()
}

// TestConfigFormats reads the same settings from YAML, TOML and JSON
// files, chosen by extension, with the environment still over the file.
func TestConfigFormats(t *testing.T) {
	tests := []struct {
		name, file, config string
		env                []string
		want               time.Duration
		wantRules          string
		wantFlag           bool
	}{
		{name: "yaml", file: "c.yaml", config: "probe:\n  timeout: 5s\n  block: [10.0.0.1, \"::1\"]\n  allow-half-open: true\n", want: 5 * time.Second, wantRules: "10.0.0.1,::1", wantFlag: true},
		{name: "yml", file: "c.yml", config: "probe:\n  timeout: 5s\n", want: 5 * time.Second},
		{name: "no extension is yaml", file: "config", config: "probe:\n  timeout: 5s\n", want: 5 * time.Second},
		{name: "toml", file: "c.toml", config: "[probe]\ntimeout = \"6s\"\nblock = [\"10.0.0.1\", \"::1\"]\nallow-half-open = true\n", want: 6 * time.Second, wantRules: "10.0.0.1,::1", wantFlag: true},
		{name: "json", file: "c.json", config: `{"probe": {"timeout": "7s", "block": ["10.0.0.1"], "allow-half-open": true}}`, want: 7 * time.Second, wantRules: "10.0.0.1", wantFlag: true},
		{name: "env over toml", file: "c.toml", config: "[probe]\ntimeout = \"6s\"\n", env: []string{"NODENET_PROBE_TIMEOUT=8s"}, want: 8 * time.Second},
		{name: "flag over env over json", file: "c.json", config: `{"probe": {"timeout": "7s"}}`, env: []string{"NODENET_PROBE_TIMEOUT=8s"}, want: 9 * time.Second},
		{name: "upper-case keys", file: "c.yaml", config: "Probe:\n  Timeout: 5s\n", want: 5 * time.Second},
		{name: "yaml merge key", file: "c.yaml", config: "base: &base\n  timeout: 4s\nprobe:\n  <<: *base\n", want: 4 * time.Second},
		{name: "yaml merge key loses to own key", file: "c.yaml", config: "base: &base\n  timeout: 4s\nprobe:\n  <<: *base\n  timeout: 2s\n", want: 2 * time.Second},
		{name: "empty yaml", file: "c.yaml", config: "# nothing\n", want: 3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var args []string
			if strings.HasPrefix(tt.name, "flag over") {
				args = []string{"--timeout", "9s"}
			}
			opts, code, stderr := runProbeFile(t, tt.file, tt.config, tt.env, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if opts.Timeout != tt.want {
				t.Errorf("timeout = %v, want %v", opts.Timeout, tt.want)
			}
			if got := strings.Join(opts.Rules, ","); got != tt.wantRules {
				t.Errorf("block = %q, want %q", got, tt.wantRules)
			}
			if opts.Flag != tt.wantFlag {
				t.Errorf("allow-half-open = %v, want %v", opts.Flag, tt.wantFlag)
			}
			if strings.Contains(stderr, "warning") && !strings.Contains(tt.config, "base") {
				t.Errorf("unexpected warning: %s", stderr)
			}
		})
	}
}

// TestConfigFileErrors: a file that is not a config viper can read is a
// usage error naming the file, for every format.
func TestConfigFileErrors(t *testing.T) {
	tests := []struct {
		name, file, config string
		want               string
	}{
		{name: "toml bad value", file: "c.toml", config: "[probe]\ntimeout = 5\n", want: `c.toml: probe.timeout: invalid argument "5": want a duration such as`},
		{name: "json bad bool", file: "c.json", config: `{"probe": {"allow-half-open": "maybe"}}`, want: `c.json: probe.allow-half-open: invalid argument "maybe": want true or false`},
		{name: "broken toml", file: "c.toml", config: "[probe\n", want: "config file "},
		{name: "broken json", file: "c.json", config: `{"probe": `, want: "config file "},
		{name: "unknown format", file: "c.ini", config: "[probe]\n", want: `c.ini: unknown format ".ini": want .yaml, .yml, .toml or .json`},
		{name: "too large", file: "c.yaml", config: "# " + strings.Repeat("x", maxConfigSize) + "\n", want: "c.yaml: larger than 1024 KiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, code, stderr := runProbeFile(t, tt.file, tt.config, nil)
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "nodenet: config file ") || !strings.Contains(stderr, tt.file) {
				t.Errorf("want one line naming the file, got %q", stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr %q lacks %q", stderr, tt.want)
			}
		})
	}
	t.Run("directory", func(t *testing.T) {
		dir := t.TempDir()
		_, code, stderr := runProbe(t, "", nil, "--config", dir)
		if code != exitUsage || !strings.Contains(stderr, dir+": is a directory") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
}

// TestConfigUnknownKeys: a key no command reads is ignored with a warning
// naming the key and the file; a key of another command's flag is not
// mentioned; a typo in the running command's own section is an error.
func TestConfigUnknownKeys(t *testing.T) {
	tests := []struct {
		name, config string
		code         int
		want         []string // lines of stderr, in order
	}{
		{name: "other commands' flags", config: "connect:\n  timeout: 5s\nlisten:\n  keep-open: true\nblock:\n  type: ipv4\n  add:\n    type: ipv6\nverbose: 0\nblocklist: rules.json\nisip:\n  v4: true\n", code: 0},
		{name: "root flag in a section", config: "connect:\n  quiet: true\n", code: 0},
		{name: "top-level key", config: "timeout: 5s\n", code: 0, want: []string{"nodenet: warning: config file CONFIG: line 1: unknown key timeout, ignored"}},
		{name: "no such command", config: "conect:\n  timeout: 5s\n", code: 0, want: []string{"nodenet: warning: config file CONFIG: line 2: unknown key conect.timeout, ignored"}},
		{name: "no flag of another command", config: "listen:\n  timout: 5s\n  keep-open: true\n", code: 0, want: []string{"nodenet: warning: config file CONFIG: line 2: unknown key listen.timout, ignored"}},
		{name: "flag of a sibling in the parent's section", config: "block:\n  replace: true\n", code: 0},
		{name: "no flag under a parent", config: "block:\n  timeout: 5s\n", code: 0, want: []string{"nodenet: warning: config file CONFIG: line 2: unknown key block.timeout, ignored"}},
		{name: "config is not a key", config: "config: other.yaml\n", code: 0, want: []string{"nodenet: warning: config file CONFIG: line 1: unknown key config, ignored"}},
		{name: "several, sorted", config: "zz: 1\naa: 2\n", code: 0, want: []string{
			"nodenet: warning: config file CONFIG: line 2: unknown key aa, ignored",
			"nodenet: warning: config file CONFIG: line 1: unknown key zz, ignored",
		}},
		{name: "own section typo", config: "probe:\n  timout: 5s\n", code: exitUsage, want: []string{"nodenet: config file CONFIG: line 2: unknown key probe.timout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, code, stderr := runProbe(t, tt.config, nil)
			if code != tt.code {
				t.Errorf("exit %d, want %d (%s)", code, tt.code, stderr)
			}
			var got []string
			for _, l := range strings.Split(strings.TrimSuffix(stderr, "\n"), "\n") {
				if l != "" {
					got = append(got, l)
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("stderr %q, want %d lines %q", stderr, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				w = strings.ReplaceAll(w, "CONFIG", "")
				prefix, suffix, _ := strings.Cut(w, "config file ")
				if !strings.HasPrefix(got[i], prefix+"config file ") || !strings.HasSuffix(got[i], suffix) || !strings.Contains(got[i], filepath.Join("nodenet", "config.yaml")) {
					t.Errorf("line %d = %q, want %q with the file's path", i, got[i], w)
				}
			}
		})
	}
}

// TestConfigNotRead: without a config file and without a NODENET_*
// variable that may be a key, no viper is made (the start-up of `nodenet isip`); with
// either, one is.
func TestConfigNotRead(t *testing.T) {
	dir := t.TempDir()
	getenv := envLookup([]string{"XDG_CONFIG_HOME=" + dir})
	c, err := loadConfig("", getenv, []string{"XDG_CONFIG_HOME=" + dir, "PATH=/bin", "NODENET_TEST_NODE26=/bin/node"}, nil)
	if err != nil || c.v != nil {
		t.Errorf("no file, no variable: viper %v, err %v", c.v, err)
	}
	t.Setenv("NODENET_ISIP_JSON", "true")
	c, err = loadConfig("", getenv, []string{"NODENET_ISIP_JSON=true"}, nil)
	if err != nil || c.v == nil {
		t.Errorf("a NODENET_ variable: viper %v, err %v", c.v, err)
	}
	// An environment that viper cannot see is refused, not ignored.
	if _, err := loadConfig("", getenv, []string{"NODENET_ISIP_V4=true"}, nil); err == nil || !strings.Contains(err.Error(), "NODENET_ISIP_V4") {
		t.Errorf("NODENET_ISIP_V4 only in environ: err %v", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "nodenet"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "nodenet", "config.yaml"), []byte("isip:\n  json: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err = loadConfig("", getenv, nil, nil)
	if err != nil || c.v == nil || c.path == "" {
		t.Errorf("a config file: viper %v, path %q, err %v", c.v, c.path, err)
	}
}

// TestCompletionIgnoresConfig: a broken config file breaks neither
// `completion` nor cobra's `__complete`, which the shell runs at every
// Tab; other commands name the file.
func TestCompletionIgnoresConfig(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("isip:\n  x: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--config", bad, "completion", "bash"},
		{"--config", bad, "__complete", "isip", "--j"},
		{"--config", bad, "__completeNoDesc", "con"},
		{"--config", bad, "help", "isip"},
	} {
		var out, errOut bytes.Buffer
		if code := Run(args, Test(nil, &out, &errOut), nil); code != 0 || out.Len() == 0 {
			t.Errorf("%q: exit %d, %d bytes out, stderr %q", args, code, out.Len(), errOut.String())
		}
	}
	var out, errOut bytes.Buffer
	code := Run([]string{"--config", bad, "isip", "::1"}, Test(nil, &out, &errOut), nil)
	if code != exitUsage || !strings.HasPrefix(errOut.String(), "nodenet: config file "+bad+": yaml: line ") {
		t.Errorf("isip: exit %d, stderr %q", code, errOut.String())
	}
}

// TestCommandIn: Run builds only the command that runs when the
// arguments name one, and the whole tree otherwise.
func TestCommandIn(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{args: []string{"isip", "127.0.0.1"}, want: "isip"},
		{args: []string{"-v", "--config", "isip", "connect", "8124"}, want: "connect"},
		{args: []string{"--config=c.yaml", "-q", "block", "list"}, want: "block"},
		{args: []string{"--events", "json", "echo"}, want: "echo"},
		{args: []string{"--no-color", "listen", "0"}, want: "listen"},
		{args: []string{"completion", "bash"}, want: ""},
		{args: []string{"help", "isip"}, want: ""},
		{args: []string{"conect"}, want: ""},
		{args: []string{"--version"}, want: ""},
		{args: []string{"--", "isip"}, want: ""},
		{args: []string{"__complete", "isip", ""}, want: ""},
		{args: nil, want: ""},
	}
	for _, tt := range tests {
		if got := commandIn(tt.args); got != tt.want {
			t.Errorf("commandIn(%q) = %q, want %q", tt.args, got, tt.want)
		}
	}
}

// TestRunOneCommandKnowsTheOthers: when Run builds only the command that
// runs, the config keys of the other commands are still known, and a
// typo in another command's section is still warned about.
func TestRunOneCommandKnowsTheOthers(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(path, []byte("connect:\n  timeout: 5s\nlisten:\n  keep-open: true\n  timout: 1s\nblock:\n  add:\n    type: ipv4\nisip:\n  json: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := Run([]string{"--config", path, "isip", "::1"}, Test(nil, &out, &errOut), []string{"XDG_CONFIG_HOME=" + dir})
	if code != 0 || out.String() != `{"input":"::1","isIP":6}`+"\n" {
		t.Errorf("exit %d, stdout %q", code, out.String())
	}
	if want := "nodenet: warning: config file " + path + ": line 5: unknown key listen.timout, ignored\n"; errOut.String() != want {
		t.Errorf("stderr %q, want %q", errOut.String(), want)
	}
}

// TestConfigRootKeys: configRootKeys, which tells which NODENET_*
// variables make nodenet read its config through viper, names every flag
// of the root that the config may set and every top-level key.
func TestConfigRootKeys(t *testing.T) {
	want := map[string]bool{}
	root := NewCmdRoot(NewFactory(Test(nil, nil, nil)), nil)
	root.PersistentFlags().VisitAll(func(fl *pflag.Flag) {
		if isConfigFlag(fl) {
			want[fl.Name] = true
		}
	})
	for k := range configTopLevel {
		want[k] = true
	}
	got := map[string]bool{}
	for _, k := range configRootKeys {
		got[k] = true
	}
	if !maps.Equal(got, want) {
		t.Errorf("configRootKeys = %v, want %v", configRootKeys, slices.Sorted(maps.Keys(want)))
	}
	for name, want := range map[string]bool{
		"NODENET_ISIP_JSON": true, "NODENET_BLOCK_ADD_TYPE": true, "NODENET_VERBOSE": true, "NODENET_NO_COLOR": true,
		"NODENET_BLOCKLIST": true, "NODENET_TEST_NODE26": false, "NODENET_REMOTE_ADDRESS": false, "NODENET_ISIPX": false, "ISIP_JSON": false,
	} {
		if got := isConfigEnv(name, nil); got != want {
			t.Errorf("isConfigEnv(%s) = %v, want %v", name, got, want)
		}
	}
}

// TestConfigSections: a flag of a command in a group has a key in its own
// section and one in the group's; the most specific key wins, and for one
// key the environment wins over the file.
func TestConfigSections(t *testing.T) {
	tests := []struct {
		name, config string
		env          []string
		want         time.Duration
	}{
		{name: "group section", config: "grp:\n  timeout: 2s\n", want: 2 * time.Second},
		{name: "own section over group", config: "grp:\n  timeout: 2s\n  sub:\n    timeout: 4s\n", want: 4 * time.Second},
		{name: "group env over group file", config: "grp:\n  timeout: 2s\n", env: []string{"NODENET_GRP_TIMEOUT=6s"}, want: 6 * time.Second},
		{name: "own env over own file", config: "grp:\n  sub:\n    timeout: 4s\n", env: []string{"NODENET_GRP_SUB_TIMEOUT=8s"}, want: 8 * time.Second},
		{name: "own file over group env", config: "grp:\n  sub:\n    timeout: 4s\n", env: []string{"NODENET_GRP_TIMEOUT=6s"}, want: 4 * time.Second},
		{name: "dotted key", config: "grp.sub.timeout: 5s\n", want: 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Setenv("XDG_CONFIG_HOME", dir)
			for _, kv := range tt.env {
				k, v, _ := strings.Cut(kv, "=")
				t.Setenv(k, v)
			}
			path := filepath.Join(dir, "c.yaml")
			if err := os.WriteFile(path, []byte(tt.config), 0o644); err != nil {
				t.Fatal(err)
			}
			var errOut bytes.Buffer
			ios := Test(nil, io.Discard, &errOut)
			f := NewFactory(ios)
			f.Getenv = envLookup(os.Environ())
			root := NewCmdRoot(f, os.Environ())
			var timeout time.Duration
			grp := &cobra.Command{Use: "grp"}
			sub := &cobra.Command{Use: "sub", RunE: func(*cobra.Command, []string) error { return nil }}
			sub.Flags().DurationVar(&timeout, "timeout", time.Second, "")
			grp.AddCommand(sub)
			root.AddCommand(grp)
			if code := execute(root, ios, []string{"--config", path, "grp", "sub"}); code != 0 || errOut.Len() != 0 {
				t.Fatalf("exit %d: %s", code, errOut.String())
			}
			if timeout != tt.want {
				t.Errorf("timeout = %v, want %v", timeout, tt.want)
			}
		})
	}
}
