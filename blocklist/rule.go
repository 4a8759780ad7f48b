package blocklist

import (
	"net/netip"
	"strings"
)

// RuleKind is what a rule blocks: one address (Node's addAddress), a range
// of addresses (addRange) or a subnet (addSubnet).
type RuleKind uint8

// The kinds of rule, named as Node's rule strings name them.
const (
	AddressRule RuleKind = iota + 1
	RangeRule
	SubnetRule
)

// String returns "Address", "Range" or "Subnet".
func (k RuleKind) String() string {
	switch k {
	case AddressRule:
		return "Address"
	case RangeRule:
		return "Range"
	case SubnetRule:
		return "Subnet"
	}
	return "RuleKind(" + string(rune('0'+k)) + ")"
}

// Rule is one rule of a BlockList. Its family is its Start's: an Is4
// address is IPv4, any other valid address IPv6 (so ::ffff:10.0.0.1 is an
// IPv6 rule, as in Node, although it blocks 10.0.0.1 too).
type Rule struct {
	Kind   RuleKind
	Start  netip.Addr // the address, the first address of the range, or the subnet's network
	End    netip.Addr // the last address of a range (RangeRule only)
	Prefix int        // the subnet's prefix length (SubnetRule only)
}

// Family returns "ipv4" or "ipv6".
func (r Rule) Family() string {
	if r.Start.Is4() {
		return IPv4
	}
	return IPv6
}

// String returns the rule as Node's blockList.rules prints it:
// "Address: IPv4 10.0.0.5", "Range: IPv6 ::1-::f",
// "Subnet: IPv4 192.168.1.7/24" (the network as given, host bits kept).
func (r Rule) String() string {
	c, err := compile(r)
	if err != nil {
		return "invalid rule"
	}
	return string(c.appendString(nil))
}

// crule is a rule as a BlockList keeps it: the start (the address, the
// range's start, the subnet's network) and the end (ranges only) as
// 128-bit values, packed to 40 bytes.
type crule struct {
	sh, sl, eh, el uint64
	v4             bool
	kind           RuleKind
	prefix         uint8
}

func newRule(kind RuleKind, start, end ip, prefix uint8) crule {
	return crule{sh: start.hi, sl: start.lo, eh: end.hi, el: end.lo, v4: start.v4, kind: kind, prefix: prefix}
}

func (c crule) start() ip { return ip{hi: c.sh, lo: c.sl, v4: c.v4} }
func (c crule) end() ip   { return ip{hi: c.eh, lo: c.el, v4: c.v4} }

func compile(r Rule) (crule, error) {
	start, ok := ipFromNetip(r.Start)
	if !ok {
		return crule{}, errInvalidAddress()
	}
	c := newRule(r.Kind, start, ip{}, 0)
	switch r.Kind {
	case AddressRule:
	case RangeRule:
		end, ok := ipFromNetip(r.End)
		if !ok || end.v4 != start.v4 {
			return crule{}, errInvalidAddress()
		}
		if start.cmp(end) > 0 {
			return crule{}, errRangeOrder(start)
		}
		c.eh, c.el = end.hi, end.lo
	case SubnetRule:
		if r.Prefix < 0 || r.Prefix > maxPrefix(start.v4) {
			return crule{}, errPrefix(start.v4, int64(r.Prefix))
		}
		c.prefix = uint8(r.Prefix)
	default:
		return crule{}, &Error{Code: codeInvalidArgValue, Message: "The argument 'kind' is invalid. Received " + r.Kind.String()}
	}
	return c, nil
}

func (c crule) rule() Rule {
	r := Rule{Kind: c.kind, Start: c.start().netipAddr()}
	switch c.kind {
	case RangeRule:
		r.End = c.end().netipAddr()
	case SubnetRule:
		r.Prefix = int(c.prefix)
	}
	return r
}

func maxPrefix(v4 bool) int {
	if v4 {
		return 32
	}
	return 128
}

// rulePrefixes are the starts of rule strings, by kind and family (IPv6,
// IPv4).
var rulePrefixes = func() (t [SubnetRule + 1][2]string) {
	for k := range t {
		t[k] = [2]string{RuleKind(k).String() + ": IPv6 ", RuleKind(k).String() + ": IPv4 "}
	}
	return t
}()

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// appendString appends Node's rule string.
func (c crule) appendString(dst []byte) []byte {
	dst = append(dst, rulePrefixes[c.kind][b2i(c.v4)]...)
	dst = appendAddress(dst, c.start())
	switch c.kind {
	case RangeRule:
		dst = append(dst, '-')
		dst = appendAddress(dst, c.end())
	case SubnetRule:
		dst = append(dst, '/')
		if c.prefix >= 100 {
			dst = append(dst, '1')
		}
		if c.prefix >= 10 {
			dst = append(dst, '0'+c.prefix/10%10)
		}
		dst = append(dst, '0'+c.prefix%10)
	}
	return dst
}

// ParseRule reads one rule as the command line writes it (`--block RULE`,
// `block remove RULE`): an address ("10.0.0.5", "::1"), a range
// ("10.0.0.1-10.0.0.10"), a subnet ("10.0.0.0/8"), or a full Node rule
// string ("Subnet: IPv4 10.0.0.0/8"). The family is read from the address:
// one with a ':' is IPv6. Invalid input is an *Error with Node's code.
func ParseRule(s string) (Rule, error) {
	return ParseRuleFamily(s, "")
}

// ParseRuleFamily is ParseRule with the family given, as `--type` gives
// it ("ipv4" or "ipv6", any case; "" reads it from the address). A full
// rule string names its own family, which must then agree.
func ParseRuleFamily(s, family string) (Rule, error) {
	c, err := parseRule(s, family)
	if err != nil {
		return Rule{}, err
	}
	return c.rule(), nil
}

func parseRule[T text](s T, family string) (crule, error) {
	detect := family == ""
	v4 := true
	if !detect {
		var ok bool
		if v4, ok = familyOf(family); !ok {
			return crule{}, errFamily(family)
		}
	}
	if kind, fam, body, ok := splitNodeRule(s); ok {
		ruleV4, ok := familyOf(fam)
		if !ok || fam == "" {
			return crule{}, errRule(string(s))
		}
		if !detect && ruleV4 != v4 {
			return crule{}, &Error{Code: codeInvalidArgValue, Message: "The argument 'type' is invalid: the rule " + inspectString(string(s)) + " is " + familyName(ruleV4)}
		}
		return parseBody(kind, body, ruleV4)
	}
	kind := AddressRule
	switch {
	case indexByte(s, '/') >= 0:
		kind = SubnetRule
	case indexByte(s, '-') >= 0:
		kind = RangeRule
	}
	if detect {
		v4 = indexByte(s, ':') < 0
	}
	return parseBody(kind, s, v4)
}

func familyName(v4 bool) string {
	if v4 {
		return "IPv4"
	}
	return "IPv6"
}

// splitNodeRule splits "Kind: Family body" (the words in any case, spaces
// between them of any length). ok is false when s is not a rule string;
// family is "" when it is one but not a well-formed one.
func splitNodeRule[T text](s T) (kind RuleKind, family string, body T, ok bool) {
	// Node's own spelling first: it is what rule files hold.
	if len(s) > 0 {
		var p int
		switch s[0] {
		case 'A':
			p = 0
		case 'S':
			p = 2
		case 'R':
			p = 4
		default:
			p = -1
		}
		for ; p >= 0 && p < len(nodePrefixes) && nodePrefixes[p].prefix[0] == s[0]; p++ {
			np := &nodePrefixes[p]
			if hasPrefix(s, np.prefix) {
				body = s[len(np.prefix):]
				if len(body) > 0 && body[0] != ' ' && body[len(body)-1] != ' ' {
					return np.kind, np.family, body, true
				}
				break
			}
		}
	}
	head, rest, found := strings.Cut(string(s), ":")
	if !found {
		return 0, "", body, false
	}
	switch strings.ToLower(head) {
	case "address":
		kind = AddressRule
	case "range":
		kind = RangeRule
	case "subnet":
		kind = SubnetRule
	default:
		return 0, "", body, false
	}
	f := strings.Fields(rest)
	if len(f) != 2 || !strings.HasPrefix(rest, " ") {
		return kind, "", body, true
	}
	if !strings.EqualFold(f[0], IPv4) && !strings.EqualFold(f[0], IPv6) {
		return kind, "", body, true
	}
	return kind, f[0], T(f[1]), true
}

var nodePrefixes = [...]struct {
	prefix, family string
	kind           RuleKind
}{
	{"Address: IPv4 ", "IPv4", AddressRule},
	{"Address: IPv6 ", "IPv6", AddressRule},
	{"Subnet: IPv4 ", "IPv4", SubnetRule},
	{"Subnet: IPv6 ", "IPv6", SubnetRule},
	{"Range: IPv4 ", "IPv4", RangeRule},
	{"Range: IPv6 ", "IPv6", RangeRule},
}

func hasPrefix[T text](s T, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		if s[i] != prefix[i] {
			return false
		}
	}
	return true
}

func lastIndexByte[T text](s T, c byte) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// parseRuleString reads one of Node's rule strings, strictly.
func parseRuleString[T text](s T) (crule, error) {
	kind, fam, body, ok := splitNodeRule(s)
	if !ok || fam == "" {
		return crule{}, errRule(string(s))
	}
	v4, _ := familyOf(fam)
	return parseBody(kind, body, v4)
}

// parseBody reads the part of a rule after its family: "ADDRESS",
// "START-END" or "NETWORK/PREFIX".
func parseBody[T text](kind RuleKind, body T, v4 bool) (crule, error) {
	switch kind {
	case AddressRule:
		a, ok := parseAddress(body, v4)
		if !ok {
			return crule{}, errInvalidAddress()
		}
		return newRule(AddressRule, a, ip{}, 0), nil
	case RangeRule:
		cut := indexByte(body, '-')
		if cut < 0 {
			return crule{}, errInvalidAddress()
		}
		if indexByte(body[cut+1:], '-') >= 0 {
			// An address has no '-' but a zone might: split at the first
			// '-' that leaves an address on both sides.
			for i := cut; i < len(body); i++ {
				if body[i] != '-' {
					continue
				}
				_, okS := parseAddress(body[:i], v4)
				_, okE := parseAddress(body[i+1:], v4)
				if okS && okE {
					cut = i
					break
				}
			}
		}
		start, ok := parseAddress(body[:cut], v4)
		if !ok {
			return crule{}, errInvalidAddress()
		}
		end, ok := parseAddress(body[cut+1:], v4)
		if !ok {
			return crule{}, errInvalidAddress()
		}
		if start.cmp(end) > 0 {
			return crule{}, errRangeOrder(start)
		}
		return newRule(RangeRule, start, end, 0), nil
	default:
		cut := lastIndexByte(body, '/')
		if cut < 0 {
			if _, ok := parseAddress(body, v4); !ok {
				return crule{}, errInvalidAddress()
			}
			return crule{}, errPrefixMissing()
		}
		network, ok := parseAddress(body[:cut], v4)
		if !ok {
			return crule{}, errInvalidAddress()
		}
		prefix, err := parsePrefix(body[cut+1:], v4)
		if err != nil {
			return crule{}, err
		}
		return newRule(SubnetRule, network, ip{}, uint8(prefix)), nil
	}
}

// parsePrefix reads a prefix length written in decimal. Anything else, or a
// number out of range for the family, is Node's ERR_OUT_OF_RANGE.
func parsePrefix[T text](s T, v4 bool) (int, error) {
	// The common case: one to three digits, in range.
	if n := len(s); n >= 1 && n <= 3 {
		v := 0
		for i := 0; i < n; i++ {
			if s[i] < '0' || s[i] > '9' {
				v = -1
				break
			}
			v = v*10 + int(s[i]-'0')
		}
		if v >= 0 && v <= maxPrefix(v4) {
			return v, nil
		}
	}
	text := string(s)
	digits := text
	neg := false
	if len(digits) > 0 && (digits[0] == '+' || digits[0] == '-') {
		neg = digits[0] == '-'
		digits = digits[1:]
	}
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return 0, errPrefixNotInteger(text)
	}
	digits = strings.TrimLeft(digits, "0")
	if digits == "" {
		return 0, nil // 0, and -0, which Node makes +0
	}
	if len(digits) <= 3 && !neg {
		n := 0
		for i := 0; i < len(digits); i++ {
			n = n*10 + int(digits[i]-'0')
		}
		if n <= maxPrefix(v4) {
			return n, nil
		}
	}
	if neg {
		digits = "-" + digits
	}
	return 0, errPrefixReceived(v4, jsInteger(digits))
}

// ParseSubnet reads a subnet given as text, its network and its prefix
// apart, as `block add-subnet NET PREFIX` takes them: the network first
// (ERR_INVALID_ADDRESS), then the prefix, which must be a decimal integer
// in range for the family (ERR_OUT_OF_RANGE, as Node's validateInt32).
// family is "ipv4" or "ipv6" in any case; "" is Node's default, "ipv4".
func ParseSubnet(network, prefix, family string) (Rule, error) {
	v4, ok := familyOf(family)
	if !ok {
		return Rule{}, errFamily(family)
	}
	n, ok := parseAddress(network, v4)
	if !ok {
		return Rule{}, errInvalidAddress()
	}
	p, err := parsePrefix(prefix, v4)
	if err != nil {
		return Rule{}, err
	}
	return newRule(SubnetRule, n, ip{}, uint8(p)).rule(), nil
}
