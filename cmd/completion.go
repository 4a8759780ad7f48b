package cmd

import (
	"io"
	"slices"

	"github.com/spf13/cobra"
)

// completionShells are the shells `nodenet completion` writes for, and the
// file each one's script is committed as under completions/.
var completionShells = []struct{ name, file string }{
	{"bash", "nodenet.bash"},
	{"zsh", "_nodenet"},
	{"fish", "nodenet.fish"},
	{"powershell", "nodenet.ps1"},
}

// NewCmdCompletion builds `nodenet completion SHELL`.
func NewCmdCompletion(f *Factory) *cobra.Command {
	var names []string
	for _, s := range completionShells {
		names = append(names, s.name)
	}
	return &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print a shell completion script",
		Long: `Print the completion script for a shell on stdout. The same scripts are
in the completions/ folder of the source.

  bash:       source <(nodenet completion bash)
  zsh:        nodenet completion zsh > "${fpath[1]}/_nodenet"
  fish:       nodenet completion fish > ~/.config/fish/completions/nodenet.fish
  powershell: nodenet completion powershell | Out-String | Invoke-Expression`,
		ValidArgs: names,
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 0:
				return usageErrorf("completion: name a shell: %s", orList(names))
			case len(args) > 1:
				return usageErrorf("completion: one shell, got %d arguments: want %s", len(args), orList(names))
			case !slices.Contains(names, args[0]):
				return usageErrorf("completion: unknown shell %q: want %s", args[0], orList(names))
			}
			return nil
		},
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return writeCompletion(cmd.Root(), args[0], f.IO.Out)
		},
	}
}

// writeCompletion writes root's completion script for shell, with
// descriptions.
func writeCompletion(root *cobra.Command, shell string, w io.Writer) error {
	switch shell {
	case "bash":
		return root.GenBashCompletionV2(w, true)
	case "zsh":
		return root.GenZshCompletion(w)
	case "fish":
		return root.GenFishCompletion(w, true)
	case "powershell":
		return root.GenPowerShellCompletionWithDesc(w)
	}
	return usageErrorf("unknown shell %q", shell)
}
