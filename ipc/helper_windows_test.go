package ipc

import (
	"fmt"
	"os"
)

// runHelper runs a helper process's part of a test; Windows tests have
// none.
func runHelper(name string) int {
	fmt.Fprintf(os.Stderr, "no helper %q on Windows\n", name)
	return 2
}
