package rules

import "sort"

// Flow is one inbound flow the stack's security rules allow, whatever resource declared it: To is the
// target tier; From is a tier, "internet" (0.0.0.0/0 or ::/0) or the source CIDR. FromGroup and ToGroup are
// the security groups' URNs (FromGroup is "" for internet and CIDR sources).
type Flow struct {
	From, To           string
	FromGroup, ToGroup string
	FromPort, ToPort   int
}

// Flows lists the stack's allowed inbound flows (standalone rules, legacy rules and inline ingress blocks
// alike), one per source, target and port range, sorted.
func Flows(s *Stack) []Flow {
	seen := map[Flow]bool{}
	var out []Flow
	for _, in := range ingresses(s) {
		f := Flow{To: s.tierOf(in.target), ToGroup: in.target, FromPort: in.from, ToPort: in.to}
		switch {
		case in.world():
			f.From = internetNode
		case in.sourceSG != "":
			f.From, f.FromGroup = s.tierOf(in.sourceSG), in.sourceSG
		default:
			f.From = in.cidr
		}
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.From != b.From {
			return a.From < b.From
		}
		if a.To != b.To {
			return a.To < b.To
		}
		if a.FromGroup != b.FromGroup {
			return a.FromGroup < b.FromGroup
		}
		if a.ToGroup != b.ToGroup {
			return a.ToGroup < b.ToGroup
		}
		if a.FromPort != b.FromPort {
			return a.FromPort < b.FromPort
		}
		return a.ToPort < b.ToPort
	})
	return out
}
