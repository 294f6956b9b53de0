package cmdutil

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/plinth-dev/plinth/environments"
	"github.com/plinth-dev/plinth/internal/cloud"
	"github.com/plinth-dev/plinth/internal/stackconfig"
)

// CompleteStacks completes a stack name from the project's environments/ (or the shipped stacks).
func CompleteStacks(projectDir func() (string, error)) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return prefixed(stackconfig.Names(projectDir), toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// CompleteTiers completes a compute tier's name (app, worker, sftp).
func CompleteTiers(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return prefixed(environments.TierNames(), toComplete), cobra.ShellCompDirectiveNoFileComp
}

// CompleteClouds completes --cloud: the clouds a stack can live in.
func CompleteClouds(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return prefixed([]string{cloud.AWS, cloud.Local}, toComplete), cobra.ShellCompDirectiveNoFileComp
}

func prefixed(names []string, prefix string) []cobra.Completion {
	var out []cobra.Completion
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	return out
}
