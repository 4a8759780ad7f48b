// Command startfloor measures the start-up floor of nodenet's stack: a
// program that links what every nodenet command links by design (cobra,
// viper and fatih/color, whose package initialisers run before main)
// and does nothing else but answer `isip ADDRESS` with net/netip. The
// start-up of `nodenet isip ADDRESS` cannot go below this program's on
// the same machine; README's Performance section compares the two with
// ../shared/bench (`-nodenet` takes this program in nodenet's place for
// the start-up row; its batch answers follow net/netip, not Node).
package main

import (
	"bufio"
	"net/netip"
	"os"

	_ "github.com/fatih/color"
	_ "github.com/spf13/cobra"
	_ "github.com/spf13/viper"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != "isip" {
		os.Stderr.WriteString("usage: startfloor isip [ADDRESS]\n")
		os.Exit(2)
	}
	if len(os.Args) > 2 {
		os.Stdout.WriteString(family(os.Args[2]) + "\n")
		return
	}
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	for in.Scan() {
		out.WriteString(family(in.Text()))
		out.WriteByte('\n')
	}
	out.Flush()
}

func family(s string) string {
	a, err := netip.ParseAddr(s)
	switch {
	case err != nil:
		return "0"
	case a.Is4():
		return "4"
	}
	return "6"
}
