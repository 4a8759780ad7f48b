package cmd

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// configSource is the config file and the NODENET_* environment, read
// once per run through its own viper.Viper (never the global one). Keys
// are `<command>.<flag>` (`connect.timeout: 5s`) and
// NODENET_<COMMAND>_<FLAG>; precedence is flag > environment > file >
// default.
//
// When there is no config file and no NODENET_* variable, no viper.Viper
// is made at all: `nodenet isip` is called once per address by scripts, and
// its start-up is measured against /bin/true.
type configSource struct {
	path  string            // the config file read, "" when there is none
	v     *viper.Viper      // nil when there is neither a file nor a NODENET_* variable
	lines map[string]int    // a YAML file's key → its line, for errors
	env   map[string]string // the NODENET_* variables, to say where a value came from
}

// maxConfigSize bounds what is read of a config file: a config file is a
// few hundred bytes, and /dev/zero must not be read to the end.
const maxConfigSize = 1 << 20

// configFormats are the config file formats viper reads here, by the file's
// extension; a file with no extension is YAML.
var configFormats = map[string]string{"": "yaml", ".yaml": "yaml", ".yml": "yaml", ".toml": "toml", ".json": "json"}

// defaultConfigPath is $XDG_CONFIG_HOME/nodenet/config.yaml, with
// XDG_CONFIG_HOME defaulting to ~/.config.
func defaultConfigPath(getenv func(string) string) string {
	dir := getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home := getenv("HOME")
		if home == "" {
			return ""
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "nodenet", "config.yaml")
}

// loadConfig reads the config file (an explicit one must exist; the
// default one may be missing) and, through viper, the NODENET_*
// environment. viper reads the process environment: environ must agree
// with it (Main passes os.Environ()); it tells whether there is any
// NODENET_* variable that may be a key, and which keys came from there.
func loadConfig(explicit string, getenv func(string) string, environ []string, root *cobra.Command) (*configSource, error) {
	c := &configSource{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && isConfigEnv(k, root) {
			if c.env == nil {
				c.env = map[string]string{}
			}
			c.env[k] = v
		}
	}
	path := explicit
	if path == "" {
		path = defaultConfigPath(getenv)
	}
	var data []byte
	if path != "" {
		b, err := readConfigFile(path)
		switch {
		case err == nil:
			c.path, data = path, b
		case explicit == "" && errors.Is(err, os.ErrNotExist):
		default:
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return nil, usageErrorf("config file %s: %v", path, err)
		}
	}
	if c.path == "" && c.env == nil {
		return c, nil // nothing for viper to read
	}
	for k, v := range c.env {
		if pv, ok := os.LookupEnv(k); !ok || pv != v {
			// Only a test can get here: Main passes os.Environ().
			return nil, fmt.Errorf("the environment given to Run sets %s=%q, but viper reads the process environment, which does not", k, v)
		}
	}

	codecs := viper.NewCodecRegistry()
	yc := &yamlCodec{}
	for _, ext := range []string{"yaml", "yml"} {
		if err := codecs.RegisterCodec(ext, yc); err != nil {
			return nil, err
		}
	}
	c.v = viper.NewWithOptions(
		viper.WithCodecRegistry(codecs),
		viper.EnvKeyReplacer(strings.NewReplacer(".", "_", "-", "_")),
	)
	c.v.SetEnvPrefix("NODENET")
	c.v.AllowEmptyEnv(true) // NODENET_ECHO_GREETING= sets an empty greeting
	c.v.AutomaticEnv()
	if c.path == "" {
		return c, nil
	}
	ext := strings.ToLower(filepath.Ext(c.path))
	format, ok := configFormats[ext]
	if !ok {
		return nil, usageErrorf("config file %s: unknown format %q: want .yaml, .yml, .toml or .json", c.path, ext)
	}
	c.v.SetConfigType(format)
	if err := c.v.ReadConfig(bytes.NewReader(data)); err != nil {
		var pe viper.ConfigParseError
		if errors.As(err, &pe) {
			err = pe.Unwrap()
		}
		return nil, usageErrorf("config file %s: %v", c.path, err)
	}
	c.lines = yc.lines
	return c, nil
}

// isConfigEnv tells whether the variable name may be a config key:
// NODENET_<COMMAND>_... for one of commands or of root's commands, or
// NODENET_<KEY> for a flag of the root or a top-level key
// (NODENET_VERBOSE, NODENET_BLOCKLIST). Other NODENET_* variables
// (NODENET_TEST_NODE26, those --exec gives its command) do not make
// nodenet start viper.
func isConfigEnv(name string, root *cobra.Command) bool {
	rest, ok := strings.CutPrefix(name, "NODENET_")
	if !ok {
		return false
	}
	for _, c := range commands {
		if strings.HasPrefix(rest, envName(c.name)+"_") {
			return true
		}
	}
	if root != nil {
		for _, c := range root.Commands() {
			if strings.HasPrefix(rest, envName(c.Name())+"_") {
				return true
			}
		}
	}
	for _, k := range configRootKeys {
		if rest == envName(k) {
			return true
		}
	}
	return false
}

// configRootKeys are the top-level keys: the root's flags that the config
// may set, and configTopLevel. TestConfigRootKeys keeps it in step with
// the root's flags.
var configRootKeys = []string{"verbose", "quiet", "events", "no-color", "ready-file", "blocklist"}

// readConfigFile reads at most maxConfigSize bytes of path and refuses a
// larger file or a directory.
func readConfigFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return nil, errors.New("is a directory")
	}
	b, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxConfigSize {
		return nil, fmt.Errorf("larger than %d KiB", maxConfigSize>>10)
	}
	return b, nil
}

// topLevel returns a key that is not a command's flag (NODENET_<KEY>, then
// the file's <key>), such as the blocklist file.
func (c *configSource) topLevel(key string) (string, bool) {
	if c.v == nil || !c.v.IsSet(key) {
		return "", false
	}
	s, ok := configScalar(c.v.Get(key))
	return s, ok
}

// configScalar is a single config value as a flag's text: YAML, TOML and
// JSON give typed values, the flags take strings.
func configScalar(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case bool:
		return strconv.FormatBool(v), true
	case int:
		return strconv.Itoa(v), true
	case int64:
		return strconv.FormatInt(v, 10), true
	case uint64:
		return strconv.FormatUint(v, 10), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case nil, []any, map[string]any:
		return "", false
	}
	return fmt.Sprint(v), true // a TOML date
}

// configKeys are the keys a flag of cmd is read from, the most specific
// first: for `block add --type`, block.add.type then block.type; a flag of
// the root (verbose, events, no-color, quiet) also at the top level.
func configKeys(cmd *cobra.Command, fl *pflag.Flag) []string {
	var keys []string
	for p := cmd; p.HasParent(); p = p.Parent() {
		path := strings.TrimPrefix(p.CommandPath(), cmd.Root().Name()+" ")
		keys = append(keys, strings.ReplaceAll(path, " ", ".")+"."+fl.Name)
	}
	if cmd.Root().PersistentFlags().Lookup(fl.Name) == fl {
		keys = append(keys, fl.Name)
	}
	return keys
}

// apply sets every flag of cmd that the command line left alone from
// viper: for each of the flag's keys (configKeys), the most specific
// first, NODENET_<KEY> and then the file's <key>. It then refuses a key in
// cmd's own section that names no flag, and warns on warn about any other
// key that no command of tree (the whole command tree) reads.
func (c *configSource) apply(cmd *cobra.Command, warn io.Writer, tree func() *cobra.Command) error {
	if c.v == nil {
		return nil
	}
	var firstErr error
	cmd.Flags().VisitAll(func(fl *pflag.Flag) {
		if firstErr != nil || fl.Changed || fl.Name == "help" || fl.Name == "config" || fl.Name == "version" {
			return
		}
		for _, k := range configKeys(cmd, fl) {
			if !c.v.IsSet(k) {
				continue
			}
			firstErr = c.set(cmd, fl, k, c.v.Get(k))
			return
		}
	})
	if firstErr != nil {
		return firstErr
	}
	return c.checkKeys(cmd, warn, tree)
}

// set gives flag fl the value val of key k, each item of a list in turn
// (a repeatable flag).
func (c *configSource) set(cmd *cobra.Command, fl *pflag.Flag, k string, val any) error {
	env := "NODENET_" + envName(k)
	if _, fromEnv := c.env[env]; fromEnv || !c.v.InConfig(k) {
		s, _ := configScalar(val) // a variable is a string
		if err := cmd.Flags().Set(fl.Name, s); err != nil {
			return usageErrorf("environment %s: invalid argument %q: %s", env, s, flagAccepts(fl, err))
		}
		return nil
	}
	items, ok := val.([]any)
	if !ok {
		items = []any{val}
	}
	for _, item := range items {
		s, ok := configScalar(item)
		if !ok {
			return c.keyError(k, "want a single value or a list of values")
		}
		if err := cmd.Flags().Set(fl.Name, s); err != nil {
			return c.keyError(k, "invalid argument %q: %s", s, flagAccepts(fl, err))
		}
	}
	return nil
}

// keyError is a usage error naming the file, the key's line when the file
// is YAML, and the key.
func (c *configSource) keyError(k, format string, a ...any) error {
	return usageErrorf("%s%s: %s", c.where(k), k, fmt.Sprintf(format, a...))
}

func (c *configSource) where(k string) string {
	if line, ok := c.lines[k]; ok {
		return fmt.Sprintf("config file %s: line %d: ", c.path, line)
	}
	return fmt.Sprintf("config file %s: ", c.path)
}

// checkKeys refuses a key in the running command's own section that names
// no flag (connect.timout when connect runs): a typo there must not be
// silently ignored. Any other key of the file that no command reads (a
// top-level key that is not a flag of the root, a section naming no
// command, a key in another command's section that is no flag of it or of
// its subcommands) is ignored with a warning naming the key and the file.
// Keys of other commands that name their flags are what a shared config
// file is for, and are not mentioned.
func (c *configSource) checkKeys(cmd *cobra.Command, warn io.Writer, tree func() *cobra.Command) error {
	if c.path == "" {
		return nil
	}
	root := tree()
	own := ""
	if cmd.HasParent() {
		own = strings.ReplaceAll(strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" "), " ", ".") + "."
	}
	var unknown, ignored []string
	for _, k := range c.v.AllKeys() {
		if !c.v.InConfig(k) || knownConfigKey(root, k) {
			continue
		}
		if own != "" && strings.HasPrefix(k, own) {
			unknown = append(unknown, k)
		} else {
			ignored = append(ignored, k)
		}
	}
	sort.Strings(ignored)
	for _, k := range ignored {
		fmt.Fprintf(warn, "nodenet: warning: %sunknown key %s, ignored\n", c.where(k), k)
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	return usageErrorf("%sunknown key %s", c.where(unknown[0]), strings.Join(unknown, ", "))
}

// configTopLevel are the keys of the file that are no command's flag.
var configTopLevel = map[string]bool{"blocklist": true}

// knownConfigKey tells whether some command reads key: a top-level key is
// a flag of the root or one of configTopLevel; <path>.<flag> names a
// command by its path and a flag of it or of one of its subcommands (whose
// keys fall back to their parents' sections).
func knownConfigKey(root *cobra.Command, key string) bool {
	parts := strings.Split(key, ".")
	if len(parts) == 1 {
		return configTopLevel[key] || isConfigFlag(root.PersistentFlags().Lookup(key))
	}
	c := root
	for _, p := range parts[:len(parts)-1] {
		if c = subcommand(c, p); c == nil {
			return false
		}
	}
	return hasConfigFlag(c, parts[len(parts)-1])
}

func hasConfigFlag(c *cobra.Command, name string) bool {
	if isConfigFlag(c.Flags().Lookup(name)) || isConfigFlag(c.Root().PersistentFlags().Lookup(name)) {
		return true
	}
	for _, s := range c.Commands() {
		if hasConfigFlag(s, name) {
			return true
		}
	}
	return false
}

// isConfigFlag tells whether fl may be set from the config: every flag but
// --help, --version and --config.
func isConfigFlag(fl *pflag.Flag) bool {
	return fl != nil && fl.Name != "help" && fl.Name != "version" && fl.Name != "config"
}

func subcommand(cmd *cobra.Command, name string) *cobra.Command {
	for _, s := range cmd.Commands() {
		if s.Name() == name {
			return s
		}
	}
	return nil
}

// envName is a config key as an environment variable's suffix:
// "connect.keep-alive" → "CONNECT_KEEP_ALIVE".
func envName(key string) string {
	return strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(key))
}
