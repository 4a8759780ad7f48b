package cmd

import (
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxConfigValues bounds the values a YAML config file may hold once its
// aliases are expanded. A config file sets a few dozen flags; an alias
// bomb (an anchor holding ten aliases of the previous one, eight levels
// deep) would expand to 10^8 values and take the machine's memory.
const maxConfigValues = 10000

// yamlCodec is the YAML decoder viper uses for .yaml and .yml files. It
// parses into yaml.Node, which keeps an alias as a pointer to its anchor,
// and builds viper's plain map itself: an alias that contains itself is
// refused, and so is a document whose aliases expand to more than
// maxConfigValues values, in time and memory proportional to the file
// and that bound. It records the line of every key, for errors.
type yamlCodec struct {
	lines map[string]int // lower-case dotted key → line
}

// Encode is not used: nodenet never writes its config.
func (*yamlCodec) Encode(map[string]any) ([]byte, error) {
	return nil, errors.New("writing a YAML config is not supported")
}

// Decode fills m from the YAML document b.
func (c *yamlCodec) Decode(b []byte, m map[string]any) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return err
	}
	c.lines = map[string]int{}
	if len(doc.Content) == 0 { // an empty file
		return nil
	}
	top := doc.Content[0]
	for top.Kind == yaml.AliasNode && top.Alias != nil {
		top = top.Alias
	}
	if top.Kind != yaml.MappingNode {
		if top.Kind == yaml.ScalarNode && top.Tag == "!!null" {
			return nil // only comments
		}
		return fmt.Errorf("line %d: want a map of settings", top.Line)
	}
	d := &yamlDecoder{lines: c.lines, active: map[*yaml.Node]bool{}}
	v, err := d.value("", top)
	if err != nil {
		return err
	}
	for k, val := range v.(map[string]any) {
		m[k] = val
	}
	return nil
}

// yamlDecoder turns a yaml.Node tree into maps, lists and scalars.
type yamlDecoder struct {
	lines  map[string]int
	active map[*yaml.Node]bool // anchors being expanded: an alias to one is a cycle
	values int                 // values made so far, aliases expanded
}

func (d *yamlDecoder) value(key string, n *yaml.Node) (any, error) {
	if d.values++; d.values > maxConfigValues {
		return nil, fmt.Errorf("line %d: more than %d values once aliases are expanded", n.Line, maxConfigValues)
	}
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, fmt.Errorf("line %d: unknown alias *%s", n.Line, n.Value)
		}
		if d.active[n.Alias] {
			return nil, fmt.Errorf("line %d: alias *%s refers to a value that contains it", n.Line, n.Value)
		}
		d.active[n.Alias] = true
		defer delete(d.active, n.Alias)
		return d.value(key, n.Alias)
	case yaml.ScalarNode:
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, err
		}
		return v, nil
	case yaml.SequenceNode:
		list := make([]any, 0, len(n.Content))
		for _, item := range n.Content {
			v, err := d.value(key, item)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		return list, nil
	case yaml.MappingNode:
		m := map[string]any{}
		// Merge keys (<<: *defaults) first, so that the map's own keys
		// win over the merged ones, as YAML says.
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
				if err := d.merge(key, m, n.Content[i+1]); err != nil {
					return nil, err
				}
			}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
				continue
			}
			if k.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: a key must be a single value", k.Line)
			}
			name := strings.ToLower(k.Value)
			full := name
			if key != "" {
				full = key + "." + name
			}
			v, err := d.value(full, n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[name] = v
			d.lines[full] = k.Line
		}
		return m, nil
	}
	return nil, fmt.Errorf("line %d: unsupported value", n.Line)
}

// merge adds the keys of the map (or list of maps) n to m, where m has
// none yet.
func (d *yamlDecoder) merge(key string, m map[string]any, n *yaml.Node) error {
	v, err := d.value(key, n)
	if err != nil {
		return err
	}
	maps, ok := v.([]any)
	if !ok {
		maps = []any{v}
	}
	for _, mv := range maps {
		mm, ok := mv.(map[string]any)
		if !ok {
			return fmt.Errorf("line %d: << merges a map or a list of maps", n.Line)
		}
		for k, val := range mm {
			if _, set := m[k]; !set {
				m[k] = val
			}
		}
	}
	return nil
}
