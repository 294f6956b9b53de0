package rules

import (
	"encoding/json"
	"fmt"
	"strings"
)

// objectActions are what a bucket policy may grant an AWS principal: reading or writing objects, nothing
// on the bucket itself (listing, its policy, its configuration).
var objectActions = map[string]bool{"s3:GetObject": true, "s3:GetObjectVersion": true, "s3:PutObject": true}

func grantRules() []Rule {
	return []Rule{
		{
			ID: "bucket-grants-scoped", Level: Mandatory,
			Description: "S3 bucket policies grant AWS principals only object reads or writes under a key prefix: no wildcard principal, no wildcard or bucket-level action, never the whole bucket.",
			Fix:         "Name the roles, grant s3:GetObject (or s3:PutObject) only, on arn:aws:s3:::<bucket>/<prefix>/*.",
			Check: eachOf([]string{"aws:s3/bucketPolicy:BucketPolicy"}, func(r *Resource) string {
				doc := r.str("policy")
				if doc == "" {
					return "" // unknown until the bucket exists (preview): nothing to judge yet
				}
				return unscopedGrant(doc)
			}),
		},
	}
}

// unscopedGrant returns what is wrong with the Allow statements of doc that name AWS principals ("" when
// nothing).
func unscopedGrant(doc string) string {
	var pol struct {
		Statement []struct {
			Sid       string
			Effect    string
			Principal any
			Action    any
			Resource  any
		}
	}
	if err := json.Unmarshal([]byte(doc), &pol); err != nil {
		return "policy is not valid JSON: " + err.Error()
	}
	for i, st := range pol.Statement {
		if st.Effect != "Allow" {
			continue
		}
		name := st.Sid
		if name == "" {
			name = fmt.Sprintf("statement %d", i)
		}
		if st.Principal == "*" {
			return name + ": allows any principal"
		}
		p, _ := st.Principal.(map[string]any)
		aws := strings1(p["AWS"])
		if len(aws) == 0 {
			continue // a service principal (log delivery): scoped by its own statement's resource
		}
		for _, a := range aws {
			if a == "*" {
				return name + ": allows any AWS principal"
			}
		}
		for _, a := range strings1(st.Action) {
			if !objectActions[a] {
				return fmt.Sprintf("%s: grants %s to %s: only object reads or writes may be granted", name, a, strings.Join(aws, ", "))
			}
		}
		for _, res := range strings1(st.Resource) {
			key, ok := strings.CutPrefix(res, "arn:aws:s3:::")
			_, rest, _ := strings.Cut(key, "/")
			if !ok || rest == "" || strings.HasPrefix(rest, "*") {
				return fmt.Sprintf("%s: grants %s on %s: the whole bucket, not a key prefix", name, strings.Join(aws, ", "), res)
			}
		}
	}
	return ""
}

// strings1 reads a policy field that is a string or a list of strings.
func strings1(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
