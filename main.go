// Command nodenet puts Node.js's net module on the command line.
package main

//go:generate go test ./cmd -run ^TestGeneratedFiles$ -update

import (
	"os"

	"github.com/nodenet/nodenet/cmd"
)

func main() { os.Exit(cmd.Main()) }
