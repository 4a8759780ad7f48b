package blocklist

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// FromJSON adds the rules in data, a JSON array of rule strings, as Node's
// fromJSON does, leniently: it reads each string with Node's patterns, which
// are not anchored and skip what they do not match, so "garbage" is
// skipped, "Address: IPv4 1.2.3.4 (home)" is read as 1.2.3.4, and
// "Address: IPv4 ::ffff:1.2.3.4" is skipped (the IPv4 pattern wants dotted
// decimal). A string that matches a pattern but names an invalid address
// or prefix stops the reading with Node's error, the rules before it
// added; so does data that is not an array of strings
// (ERR_INVALID_ARG_TYPE). For a strict reading use ParseRule or LoadFile.
func (b *BlockList) FromJSON(data []byte) error {
	var v any
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return &Error{Message: "invalid JSON: " + err.Error(), Err: err}
	}
	if d.More() {
		return &Error{Message: "invalid JSON: data after the value"}
	}
	list, ok := v.([]any)
	if !ok {
		return errDataType(v)
	}
	items := make([]string, len(list))
	for i, e := range list {
		s, ok := e.(string)
		if !ok {
			return errDataType(v)
		}
		items[i] = s
	}
	for _, item := range items {
		if err := b.addNodeItem(item); err != nil {
			return err
		}
	}
	return nil
}

// nodePatterns are Node's patterns (lib/internal/blocklist.js,
// #parseIPInfo), compiled on first use: every nodenet command would
// otherwise pay for them at start-up. The IPv6 ones are case-insensitive in
// JavaScript's non-Unicode sense: ASCII letters only, which is what ci
// spells out (Go's (?i) would also fold 'ſ' to 's').
var nodePatterns = sync.OnceValue(func() (p struct{ subnet4, address4, range4, subnet6, address6, range6 *regexp.Regexp }) {
	p.subnet4 = regexp.MustCompile(`Subnet: IPv4 (\d{1,3}(?:\.\d{1,3}){3})/(\d{1,2})`)
	p.address4 = regexp.MustCompile(`Address: IPv4 (\d{1,3}(?:\.\d{1,3}){3})`)
	p.range4 = regexp.MustCompile(`Range: IPv4 (\d{1,3}(?:\.\d{1,3}){3})-(\d{1,3}(?:\.\d{1,3}){3})`)
	p.subnet6 = regexp.MustCompile(ci("Subnet: IPv6 ") + `([0-9a-fA-F:.]{1,45})/([0-9]{1,3})`)
	p.address6 = regexp.MustCompile(ci("Address: IPv6 ") + `([0-9a-fA-F:.]{1,45})`)
	p.range6 = regexp.MustCompile(ci("Range: IPv6 ") + `([0-9a-fA-F:.]{1,45})-([0-9a-fA-F:.]{1,45})`)
	return p
})

// ci writes a literal as a pattern matching it in any ASCII case.
func ci(lit string) string {
	var b strings.Builder
	for _, c := range lit {
		lo, up := strings.ToLower(string(c)), strings.ToUpper(string(c))
		if lo != up {
			b.WriteString("[" + up + lo + "]")
		} else {
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	return b.String()
}

// addNodeItem is Node's #parseIPInfo for one string.
func (b *BlockList) addNodeItem(item string) error {
	re := nodePatterns()
	if strings.Contains(item, "IPv4") {
		if m := re.subnet4.FindStringSubmatch(item); m != nil {
			p, _ := strconv.Atoi(m[2])
			return b.AddSubnet(m[1], p, IPv4)
		}
		if m := re.address4.FindStringSubmatch(item); m != nil {
			return b.AddAddress(m[1], IPv4)
		}
		if m := re.range4.FindStringSubmatch(item); m != nil {
			return b.AddRange(m[1], m[2], IPv4)
		}
	}
	if strings.Contains(item, "IPv6") {
		if m := re.subnet6.FindStringSubmatch(item); m != nil {
			p, _ := strconv.Atoi(m[2])
			return b.AddSubnet(m[1], p, IPv6)
		}
		if m := re.address6.FindStringSubmatch(item); m != nil {
			return b.AddAddress(m[1], IPv6)
		}
		if m := re.range6.FindStringSubmatch(item); m != nil {
			return b.AddRange(m[1], m[2], IPv6)
		}
	}
	return nil
}
