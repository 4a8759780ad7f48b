package cmd

import (
	"bytes"
	"strings"
	"testing"
)

// TestBlockImportHalvesLongLines: lines read in halves from memory take
// what the streaming reader takes, and nothing more: a comment longer
// than its buffer is skipped (also the last line, without a newline,
// which one pass took for a rule), a longer line that its buffer does not
// show to be a comment is refused (and then read again as a stream, which
// says why, or skips the space before the first line), whatever the half
// it is in.
func TestBlockImportHalvesLongLines(t *testing.T) {
	var rules strings.Builder
	for i := range 40000 {
		rules.WriteString("10.0." + string(rune('0'+i%10)) + ".1\n")
	}
	long := strings.Repeat("x", blockImportMaxLine+10)
	for _, c := range []struct {
		name, line string
		ok         bool
	}{
		{"a long comment", "# " + long + "\n", true},
		{"a long comment, indented", "  \t# " + long + "\n", true},
		{"a long comment, last, without a newline", "# " + long, true},
		{"a comment that starts after the buffer", strings.Repeat(" ", blockImportMaxLine+1) + "# x\n", false},
		{"a long blank line", strings.Repeat(" ", blockImportMaxLine+1) + "\n", false},
		{"a long rule", "1.2.3.4" + long + "\n", false},
		{"a line of the buffer's length", "#" + strings.Repeat("y", blockImportMaxLine-2) + "\n", true},
	} {
		for _, at := range []string{"first", "second", "end"} {
			var in string
			switch at {
			case "first":
				in = c.line + rules.String() + rules.String()
			case "second":
				in = rules.String() + rules.String() + c.line + rules.String()
			case "end":
				in = rules.String() + rules.String() + c.line
			}
			if at != "end" && !strings.HasSuffix(c.line, "\n") {
				continue
			}
			halves := parseImportHalves("in", []byte(in), "")
			whole, err := parseImport("in", strings.NewReader(in), "")
			switch {
			case c.ok && err != nil:
				t.Fatalf("%s, %s: one pass: %v", c.name, at, err)
			case c.ok && halves == nil:
				t.Errorf("%s, %s: not read in halves", c.name, at)
			case !c.ok && halves != nil:
				t.Errorf("%s, %s: read in halves (one pass: %v)", c.name, at, err)
			case halves != nil && !bytes.Equal(importedFile(t, halves), importedFile(t, whole)):
				t.Errorf("%s, %s: halves read other rules", c.name, at)
			}
		}
	}
}
