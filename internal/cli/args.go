package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// GroupRunE runs a command that only groups subcommands: help without arguments, a usage
// error (with suggestions) for an unknown subcommand.
func GroupRunE(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return cmd.Help()
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return Usage(fmt.Errorf("%s", msg))
}

// ExactArgs is cobra.ExactArgs with usage errors and the argument names in the message.
func ExactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != len(names) {
			return Usagef("%s takes %d argument(s): %s (got %d)", cmd.CommandPath(), len(names),
				strings.Join(names, " "), len(args))
		}
		return nil
	}
}
