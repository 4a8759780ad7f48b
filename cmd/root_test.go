package cmd

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// probeOptions is what the probe command's flags fill; the config table
// test reads it back.
type probeOptions struct {
	Timeout time.Duration
	Host    string
	Rules   []string
	Flag    bool
}

// runProbe runs `nodenet probe ARGS...` with a config file and environment,
// on a root that has an extra "probe" command.
func runProbe(t *testing.T, config string, environ []string, args ...string) (probeOptions, int, string) {
	t.Helper()
	return runProbeFile(t, "", config, environ, args...)
}

// runProbeFile is runProbe with the config in a file of the given name
// (config.toml), passed with --config; "" is the default config.yaml.
func runProbeFile(t *testing.T, name, config string, environ []string, args ...string) (probeOptions, int, string) {
	t.Helper()
	dir := t.TempDir()
	if name != "" {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
			t.Fatal(err)
		}
		config = ""
		args = append([]string{"--config", path}, args...)
	}
	// viper reads the process environment.
	t.Setenv("XDG_CONFIG_HOME", dir)
	setenv(t, environ)
	environ = os.Environ()
	if config != "" {
		if err := os.MkdirAll(filepath.Join(dir, "nodenet"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "nodenet", "config.yaml"), []byte(config), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out, errOut bytes.Buffer
	ios := Test(nil, &out, &errOut)
	f := NewFactory(ios)
	f.Getenv = envLookup(environ)
	root := NewCmdRoot(f, environ)
	var opts probeOptions
	probe := &cobra.Command{Use: "probe", RunE: func(*cobra.Command, []string) error { return nil }}
	probe.Flags().DurationVar(&opts.Timeout, "timeout", 3*time.Second, "")
	probe.Flags().StringVar(&opts.Host, "host", "localhost", "")
	probe.Flags().StringArrayVar(&opts.Rules, "block", nil, "")
	probe.Flags().BoolVar(&opts.Flag, "allow-half-open", false, "")
	root.AddCommand(probe)
	code := execute(root, ios, append([]string{"probe"}, args...))
	return opts, code, errOut.String()
}

// setenv sets each NAME=VALUE of environ in the process environment for
// the test: viper reads NODENET_* there, and Run refuses an environment
// that says otherwise.
func setenv(t *testing.T, environ []string) {
	t.Helper()
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// TestConfigPrecedence proves flag > environment > file > default.
func TestConfigPrecedence(t *testing.T) {
	tests := []struct {
		name    string
		config  string
		env     []string
		args    []string
		want    time.Duration
		wantArr []string
	}{
		{name: "default", want: 3 * time.Second},
		{name: "file", config: "probe:\n  timeout: 5s\n", want: 5 * time.Second},
		{name: "env over file", config: "probe:\n  timeout: 5s\n", env: []string{"NODENET_PROBE_TIMEOUT=7s"}, want: 7 * time.Second},
		{name: "flag over env and file", config: "probe:\n  timeout: 5s\n", env: []string{"NODENET_PROBE_TIMEOUT=7s"}, args: []string{"--timeout", "9s"}, want: 9 * time.Second},
		{name: "flag over file", config: "probe:\n  timeout: 5s\n", args: []string{"--timeout=1s"}, want: time.Second},
		{name: "list in file", config: "probe:\n  block: [10.0.0.1, 10.0.0.0/8]\n", want: 3 * time.Second, wantArr: []string{"10.0.0.1", "10.0.0.0/8"}},
		{name: "env over list", config: "probe:\n  block: [10.0.0.1]\n", env: []string{"NODENET_PROBE_BLOCK=::1"}, want: 3 * time.Second, wantArr: []string{"::1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, code, stderr := runProbe(t, tt.config, tt.env, tt.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if opts.Timeout != tt.want {
				t.Errorf("timeout = %v, want %v", opts.Timeout, tt.want)
			}
			if strings.Join(opts.Rules, ",") != strings.Join(tt.wantArr, ",") {
				t.Errorf("block = %q, want %q", opts.Rules, tt.wantArr)
			}
		})
	}
}

// TestConfigErrors checks that bad config is a usage error naming the
// file (and the line, for a broken file) and the key.
func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name, config string
		env          []string
		wantErr      []string
	}{
		{name: "broken yaml", config: "probe:\n  timeout: 5s\n bad: [\n", wantErr: []string{"config file", "config.yaml", "yaml: line 2:"}},
		{name: "bad value", config: "probe:\n  timeout: banana\n", wantErr: []string{"config.yaml: line 2: probe.timeout:", `invalid argument "banana": want a duration such as`}},
		{name: "unknown key", config: "probe:\n  timout: 5s\n", wantErr: []string{"config.yaml: line 2: unknown key probe.timout"}},
		{name: "bad env", env: []string{"NODENET_PROBE_ALLOW_HALF_OPEN=maybe"}, wantErr: []string{`environment NODENET_PROBE_ALLOW_HALF_OPEN: invalid argument "maybe": want true or false`}},
		{name: "bad env over file", config: "probe:\n  allow-half-open: true\n", env: []string{"NODENET_PROBE_ALLOW_HALF_OPEN=maybe"}, wantErr: []string{`environment NODENET_PROBE_ALLOW_HALF_OPEN: invalid argument "maybe"`}},
		{name: "bad bool", config: "probe:\n  allow-half-open: yes\n", wantErr: []string{`config.yaml: line 2: probe.allow-half-open: invalid argument "yes": want true or false`}},
		{name: "section for a value", config: "probe:\n  timeout:\n    x: 1s\n", wantErr: []string{"line 2: probe.timeout: want a single value or a list of values"}},
		{name: "recursive alias", config: "a: &a\n  b: *a\n", wantErr: []string{"config.yaml: line 2: alias *a refers to a value that contains it"}},
		{name: "alias bomb", config: aliasBomb(8, 10), wantErr: []string{"config.yaml: line ", "more than 10000 values once aliases are expanded"}},
		{name: "not a map", config: "- a\n- b\n", wantErr: []string{"config.yaml: line 1: want a map of settings"}},
		{name: "bad events", config: "events: xml\n", wantErr: []string{"--events", "xml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, code, stderr := runProbe(t, tt.config, tt.env)
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "nodenet: ") {
				t.Errorf("want one line \"nodenet: ...\", got %q", stderr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q lacks %q", stderr, w)
				}
			}
		})
	}
}

// TestExplicitConfigMissing: --config names a file that must exist; the
// default one may be missing.
func TestExplicitConfigMissing(t *testing.T) {
	_, code, stderr := runProbe(t, "", nil, "--config", filepath.Join(t.TempDir(), "nope.yaml"))
	if code != exitUsage || !strings.Contains(stderr, "nope.yaml") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if _, code, stderr := runProbe(t, "", nil); code != 0 {
		t.Errorf("missing default config: exit %d, %s", code, stderr)
	}
}

// TestExitCodes covers the errors cobra raises itself, which it returns
// unwrapped, and the root's own behaviour.
func TestExitCodes(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		code    int
		stderr  string
		noLines bool
	}{
		{name: "version", args: []string{"--version"}, code: 0},
		{name: "no command", args: nil, code: exitUsage},
		{name: "unknown command", args: []string{"frobnicate"}, code: exitUsage, stderr: `unknown command "frobnicate"`},
		{name: "unknown flag", args: []string{"--frobnicate"}, code: exitUsage, stderr: "unknown flag: --frobnicate"},
		{name: "completion without shell", args: []string{"completion"}, code: exitUsage, stderr: "completion: name a shell: bash, zsh, fish or powershell\n"},
		{name: "completion bad shell", args: []string{"completion", "tcsh"}, code: exitUsage, stderr: `completion: unknown shell "tcsh": want bash, zsh, fish or powershell` + "\n"},
		{name: "completion two shells", args: []string{"completion", "bash", "zsh"}, code: exitUsage, stderr: "completion: one shell, got 2 arguments: want bash, zsh, fish or powershell\n"},
		{name: "command typo", args: []string{"conect"}, code: exitUsage, stderr: `nodenet: unknown command "conect" for "nodenet". Did you mean connect?` + "\n"},
		{name: "unknown command lists them", args: []string{"frobnicate"}, code: exitUsage, stderr: `for "nodenet": want block, completion, connect, echo, isip or listen` + "\n"},
		{name: "subcommand typo", args: []string{"block", "lsit"}, code: exitUsage, stderr: `nodenet: unknown command "lsit" for "nodenet block". Did you mean list?` + "\n"},
		{name: "flag typo", args: []string{"listen", "--keep-opn"}, code: exitUsage, stderr: "nodenet: unknown flag: --keep-opn. Did you mean --keep-open?\n"},
		{name: "flag prefix", args: []string{"isip", "--js"}, code: exitUsage, stderr: "nodenet: unknown flag: --js. Did you mean --json?\n"},
		{name: "bad bool", args: []string{"listen", "--keep-open=maybe"}, code: exitUsage, stderr: `nodenet: invalid argument "maybe" for "-k, --keep-open": want true or false` + "\n"},
		{name: "bad duration", args: []string{"connect", "--timeout", "5"}, code: exitUsage, stderr: `nodenet: invalid argument "5" for "--timeout": want a duration such as 500ms, 5s or 1m30s` + "\n"},
		{name: "bad int", args: []string{"listen", "--backlog", "many"}, code: exitUsage, stderr: `nodenet: invalid argument "many" for "--backlog": want an integer` + "\n"},
		{name: "bad count", args: []string{"isip", "--verbose=lots", "::1"}, code: exitUsage, stderr: `nodenet: invalid argument "lots" for "-v, --verbose": want a count such as 2` + "\n"},
		{name: "missing value", args: []string{"connect", "--timeout"}, code: exitUsage, stderr: `nodenet: flag needs an argument: "--timeout" wants a duration such as 500ms, 5s or 1m30s` + "\n"},
		{name: "missing path", args: []string{"connect", "-U"}, code: exitUsage, stderr: `nodenet: flag needs an argument: "-U, --unix" wants a PATH` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Run(tt.args, Test(strings.NewReader(""), &out, &errOut), []string{"XDG_CONFIG_HOME=" + t.TempDir()})
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.code, errOut.String())
			}
			if !strings.Contains(errOut.String(), tt.stderr) {
				t.Errorf("stderr %q lacks %q", errOut.String(), tt.stderr)
			}
			if tt.code == exitUsage && out.Len() != 0 {
				t.Errorf("usage error printed on stdout: %q", out.String())
			}
		})
	}
}

// TestVersionString: --version shows the version given at link time, else
// the module's, then the VCS revision and time the build recorded, and the
// Go version and platform.
func TestVersionString(t *testing.T) {
	vcs := []debug.BuildSetting{
		{Key: "vcs", Value: "git"},
		{Key: "vcs.revision", Value: "78721ba3c1d2e4f5a6b7c8d9e0f1a2b3c4d5e6f7"},
		{Key: "vcs.time", Value: "2026-12-05T10:00:00Z"},
	}
	modified := append(slices.Clone(vcs), debug.BuildSetting{Key: "vcs.modified", Value: "true"})
	tests := []struct {
		name   string
		linked string
		bi     *debug.BuildInfo
		want   string
	}{
		{name: "no build info", want: "(devel) " + runtime.Version() + " linux/amd64"},
		{name: "module version", bi: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}}, want: "v1.2.3 go1.26.8 linux/amd64"},
		{name: "linked version wins", linked: "v9.9.9", bi: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}}, want: "v9.9.9 go1.26.8 linux/amd64"},
		{name: "devel with vcs", bi: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs}, want: "(devel) (rev 78721ba3c1d2, 2026-12-05T10:00:00Z) go1.26.8 linux/amd64"},
		{name: "modified tree", bi: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261205100000-78721ba3c1d2+dirty"}, Settings: modified}, want: "v0.0.0-20261205100000-78721ba3c1d2+dirty go1.26.8 linux/amd64"},
		{name: "tag and modified tree", bi: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3+dirty"}, Settings: modified}, want: "v1.2.3+dirty (rev 78721ba3c1d2, 2026-12-05T10:00:00Z, modified) go1.26.8 linux/amd64"},
		{name: "empty main version", bi: &debug.BuildInfo{GoVersion: "go1.26.8"}, want: "(devel) go1.26.8 linux/amd64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := versionString(tt.linked, tt.bi, "linux/amd64"); got != tt.want {
				t.Errorf("versionString = %q, want %q", got, tt.want)
			}
		})
	}
	var out bytes.Buffer
	if code := Run([]string{"--version"}, Test(nil, &out, &out), nil); code != 0 || !strings.HasPrefix(out.String(), "nodenet ") || !strings.HasSuffix(out.String(), " "+runtime.GOOS+"/"+runtime.GOARCH+"\n") || !strings.Contains(out.String(), " go1.") {
		t.Errorf("nodenet --version: exit %d, %q", code, out.String())
	}
}
