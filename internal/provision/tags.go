package provision

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// tagsOf returns the tags of stack, or nil when it does not exist.
func (e *Engine) tagsOf(ctx context.Context, stack string) (map[string]string, error) {
	tags, err := e.ws.ListTags(ctx, stack)
	if err != nil {
		// `pulumi stack tag ls` on a missing stack says "not found" in more than one wording.
		if isNoStack(err) || strings.Contains(err.Error(), "not found") {
			return nil, nil
		}
		return nil, classify(fmt.Sprintf("stack %s: read tags", stack), err)
	}
	return tags, nil
}

// recordRevision tags the stack with what was applied: commit, config hash, plan sha256, cloud, override.
func (e *Engine) recordRevision(ctx context.Context, r Result) error {
	set := map[string]string{
		TagCommit:     e.opts.Revision.commitTag(),
		TagConfigHash: e.opts.Revision.ConfigHash,
		TagCloud:      e.opts.Cloud,
	}
	if r.PlanSHA256 != "" {
		set[TagPlanSHA256] = r.PlanSHA256
	} else {
		set[TagPlanSHA256] = "none"
	}
	if r.Override != "" {
		set[TagOverride] = r.Override
	} else {
		set[TagOverride] = "none"
	}
	// Each tag write is a CLI run: write only what changed.
	have := e.tags
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := set[k]
		if v == "" {
			v = "none"
		}
		if have[k] == v {
			continue
		}
		if err := e.stack.SetTag(ctx, k, v); err != nil {
			return classify(fmt.Sprintf("stack %s: record tag %s", e.opts.Stack, k), err)
		}
		if e.tags == nil {
			e.tags = map[string]string{}
		}
		e.tags[k] = v
	}
	if r.PlanSHA256 != "" {
		e.emit(Event{Kind: EventAudit, Severity: "info", Message: "applied plan sha256 " + r.PlanSHA256})
	}
	return nil
}

// Tags returns the stack's tags.
func (e *Engine) Tags(ctx context.Context) (map[string]string, error) {
	return e.tagsOf(ctx, e.opts.Stack)
}
