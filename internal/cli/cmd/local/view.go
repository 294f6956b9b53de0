package local

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/plinth-dev/plinth/internal/cli/cmdutil"
)

// viewStatus renders `plinth local status` for humans: per stack its addresses, then a table of hosts.
func viewStatus(w io.Writer, st cmdutil.LocalStatus) error {
	if !st.Running {
		_, err := fmt.Fprintln(w, "The live local cloud is not running (plinth up --stack S --cloud local or plinth local start starts it).")
		return err
	}
	if len(st.Stacks) == 0 {
		_, err := fmt.Fprintln(w, "The live local cloud runs no stack.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for i, s := range st.Stacks {
		if i > 0 {
			fmt.Fprintln(tw)
		}
		fmt.Fprintf(tw, "Stack %s\n", s.Stack)
		fmt.Fprintf(tw, "  url:      %s\n  CA file:  %s\n  bastion:  %s\n", dash(s.URL), dash(s.CAFile), dash(s.Bastion))
		if len(s.Hosts) == 0 {
			fmt.Fprintln(tw, "  no hosts")
			continue
		}
		fmt.Fprintln(tw, "  HOST\tTIER\tADDRESS\tSTATE")
		for _, h := range s.Hosts {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", h.Name, h.Tier, h.Address, h.State)
		}
		viewData(tw, s)
	}
	return tw.Flush()
}

// viewData renders the data tier under the hosts (nothing when the stack has none).
func viewData(w io.Writer, s cmdutil.LocalStackStatus) {
	if len(s.Databases) > 0 {
		fmt.Fprintln(w, "  DATABASE\tROLE\tADDRESS\tLAG")
		for _, d := range s.Databases {
			lag := fmt.Sprintf("%ds", d.LagSeconds)
			if d.LagSeconds < 0 {
				lag = "not replicating"
			}
			fmt.Fprintf(w, "  %s\t%s\t%s\t%s\n", d.Name, d.Role, d.Address, lag)
		}
	}
	if len(s.Caches) > 0 {
		fmt.Fprintln(w, "  CACHE\tROLE\tADDRESS")
		for _, c := range s.Caches {
			fmt.Fprintf(w, "  %s\t%s\t%s\n", c.Name, c.Role, c.Address)
		}
	}
	if s.Vault != nil {
		fmt.Fprintf(w, "  vault:    %s at %s\n", s.Vault.Bucket, s.Vault.URL)
	}
	if s.Search != "" {
		fmt.Fprintf(w, "  search:   %s\n", s.Search)
	}
}

func viewStopped(w io.Writer, stopped bool) error {
	msg := "The live local cloud was not running."
	if stopped {
		msg = "Stopped the live local cloud: no process, namespace or listener is left (the local cloud's records stay)."
	}
	_, err := fmt.Fprintln(w, msg)
	return err
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
