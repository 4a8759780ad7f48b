package cmd

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// configSource is the config file and the NODENET_* environment, read
// once per run. Keys are `<command>.<flag>` (`connect.timeout: 5s`) and
// NODENET_<COMMAND>_<FLAG>; precedence is flag > environment > file >
// default.
//
// The file is read with the YAML parser directly rather than through viper:
// linking viper (and the afero, net/http and crypto packages it brings)
// costs about 0.7 ms at every start, and `nodenet isip` is called once per
// address by scripts. Keeping the YAML node tree also lets an error name
// the line of a bad value, not only of a broken file.
type configSource struct {
	path string                 // the config file read, "" when there is none
	keys map[string]configEntry // "connect.timeout" → its value(s)
	env  map[string]string      // NODENET_* variables
}

// configEntry is one leaf of the config file: a scalar, or a list for a
// repeatable flag.
type configEntry struct {
	values []string
	line   int
}

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
// default one may be missing) and collects the NODENET_* environment.
func loadConfig(explicit string, getenv func(string) string, environ []string) (*configSource, error) {
	c := &configSource{env: map[string]string{}}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "NODENET_") {
			c.env[k] = v
		}
	}
	path := explicit
	if path == "" {
		if path = defaultConfigPath(getenv); path == "" {
			return c, nil
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		if explicit == "" && errors.Is(err, os.ErrNotExist) {
			return c, nil
		}
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, usageErrorf("config file %s: %v", path, err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, usageErrorf("config file %s: %v", path, err)
	}
	c.path, c.keys = path, map[string]configEntry{}
	if len(doc.Content) == 0 { // an empty file
		return c, nil
	}
	if err := c.flatten("", doc.Content[0]); err != nil {
		return nil, err
	}
	return c, nil
}

// flatten records every leaf under n with its dotted, lower-case key.
func (c *configSource) flatten(prefix string, n *yaml.Node) error {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := strings.ToLower(n.Content[i].Value)
			if prefix != "" {
				k = prefix + "." + k
			}
			if err := c.flatten(k, n.Content[i+1]); err != nil {
				return err
			}
		}
		return nil
	case yaml.SequenceNode:
		e := configEntry{line: n.Line, values: []string{}}
		for _, item := range n.Content {
			if item.Kind != yaml.ScalarNode {
				return c.lineError(item.Line, "%s: a list item must be a single value", prefix)
			}
			e.values = append(e.values, item.Value)
		}
		c.keys[prefix] = e
		return nil
	case yaml.ScalarNode:
		if prefix == "" {
			return c.lineError(n.Line, "want a map of settings, got %q", n.Value)
		}
		c.keys[prefix] = configEntry{line: n.Line, values: []string{n.Value}}
		return nil
	case yaml.AliasNode:
		return c.flatten(prefix, n.Alias)
	}
	return c.lineError(n.Line, "%s: unsupported value", prefix)
}

func (c *configSource) lineError(line int, format string, a ...any) error {
	return usageErrorf("config file %s: line %d: %s", c.path, line, fmt.Sprintf(format, a...))
}

// topLevel returns a key that is not a command's flag (NODENET_<KEY>, then
// the file's <key>), such as the blocklist file.
func (c *configSource) topLevel(key string) (string, bool) {
	if v, ok := c.env["NODENET_"+envName(key)]; ok {
		return v, true
	}
	if e, ok := c.keys[key]; ok && len(e.values) == 1 {
		return e.values[0], true
	}
	return "", false
}

// apply sets every flag of cmd that the command line left alone from the
// environment, else from the file. Keys are searched from the most
// specific command up: for `block add --type`, NODENET_BLOCK_ADD_TYPE and
// block.add.type, then NODENET_BLOCK_TYPE and block.type. The root's
// persistent flags are also top-level keys (verbose, events, no-color).
func (c *configSource) apply(cmd *cobra.Command) error {
	var prefixes []string // "block.add", "block"
	for p := cmd; p.HasParent(); p = p.Parent() {
		path := strings.TrimPrefix(p.CommandPath(), cmd.Root().Name()+" ")
		prefixes = append(prefixes, strings.ReplaceAll(path, " ", "."))
	}
	root := cmd.Root().PersistentFlags()
	var firstErr error
	cmd.Flags().VisitAll(func(fl *pflag.Flag) {
		if firstErr != nil || fl.Changed || fl.Name == "help" || fl.Name == "config" || fl.Name == "version" {
			return
		}
		keys := make([]string, 0, len(prefixes)+1)
		for _, p := range prefixes {
			keys = append(keys, p+"."+fl.Name)
		}
		if root.Lookup(fl.Name) == fl {
			keys = append(keys, fl.Name)
		}
		for _, k := range keys {
			env := "NODENET_" + envName(k)
			if v, ok := c.env[env]; ok {
				if err := cmd.Flags().Set(fl.Name, v); err != nil {
					firstErr = usageErrorf("environment %s=%q: %v", env, v, err)
				}
				return
			}
		}
		for _, k := range keys {
			e, ok := c.keys[k]
			if !ok {
				continue
			}
			for _, v := range e.values {
				if err := cmd.Flags().Set(fl.Name, v); err != nil {
					firstErr = c.lineError(e.line, "%s: %v", k, err)
					return
				}
			}
			return
		}
	})
	if firstErr != nil {
		return firstErr
	}
	return c.checkUnknown(cmd, prefixes)
}

// checkUnknown refuses a key in the running command's own section that
// names no flag: a typo in a config file must not be silently ignored.
func (c *configSource) checkUnknown(cmd *cobra.Command, prefixes []string) error {
	if len(prefixes) == 0 {
		return nil
	}
	section := prefixes[0] + "."
	var unknown []string
	for k := range c.keys {
		rest, ok := strings.CutPrefix(k, section)
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(rest, ".")
		if cmd.Flags().Lookup(name) == nil && !hasSubcommand(cmd, name) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	return c.lineError(c.keys[unknown[0]].line, "unknown key %s", strings.Join(unknown, ", "))
}

func hasSubcommand(cmd *cobra.Command, name string) bool {
	for _, s := range cmd.Commands() {
		if s.Name() == name {
			return true
		}
	}
	return false
}

// envName is a config key as an environment variable's suffix:
// "connect.keep-alive" → "CONNECT_KEEP_ALIVE".
func envName(key string) string {
	return strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(key))
}
