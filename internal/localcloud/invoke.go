package localcloud

import (
	"cmp"
	"encoding/json"

	"github.com/plinth-dev/plinth/internal/cloudattrs"
)

// invoke returns the result of a simulated data-source function, or false when it is not simulated.
func invoke(tok string, args map[string]any, region, project string) (map[string]any, bool) {
	switch tok {
	case "aws:index/getRegion:getRegion":
		r := cmp.Or(str(args, "name"), str(args, "region"), region)
		return map[string]any{"id": r, "name": r, "region": r, "description": r,
			"endpoint": "ec2." + r + ".amazonaws.com"}, true
	case "aws:index/getCallerIdentity:getCallerIdentity":
		return map[string]any{"id": cloudattrs.Account, "accountId": cloudattrs.Account,
			"arn": "arn:aws:iam::" + cloudattrs.Account + ":user/plinth-local", "userId": "AIDALOCALPLINTH"}, true
	case "aws:index/getPartition:getPartition":
		return map[string]any{"id": "aws", "partition": "aws", "dnsSuffix": "amazonaws.com",
			"reverseDnsPrefix": "com.amazonaws"}, true
	case "aws:index/getAvailabilityZones:getAvailabilityZones":
		return map[string]any{"id": region, "names": []any{region + "a", region + "b", region + "c"},
			"zoneIds": []any{"az1", "az2", "az3"}, "groupNames": []any{region}}, true
	case "aws:ec2/getAmi:getAmi":
		return map[string]any{"id": "ami-0123456789abcdef0", "imageId": "ami-0123456789abcdef0",
			"arn":  "arn:aws:ec2:" + region + "::image/ami-0123456789abcdef0",
			"name": "debian-13-amd64-local", "architecture": "x86_64", "rootDeviceName": "/dev/xvda"}, true
	case "aws:iam/getPolicyDocument:getPolicyDocument":
		doc := policyDocument(args)
		data, err := json.Marshal(doc)
		if err != nil {
			return nil, false
		}
		return map[string]any{"id": "policy", "json": string(data), "minifiedJson": string(data)}, true
	case "gcp:organizations/getProject:getProject":
		p := cmp.Or(str(args, "projectId"), project)
		return map[string]any{"id": "projects/" + p, "projectId": p, "number": cloudattrs.ProjectNumber, "name": p}, true
	case "gcp:organizations/getClientConfig:getClientConfig":
		return map[string]any{"id": project, "project": project, "region": region, "zone": region + "-b",
			"accessToken": ""}, true
	case "gcp:storage/getProjectServiceAccount:getProjectServiceAccount":
		email := "service-" + cloudattrs.ProjectNumber + "@gs-project-accounts.iam.gserviceaccount.com"
		return map[string]any{"id": email, "emailAddress": email, "member": "serviceAccount:" + email,
			"project": project}, true
	}
	return nil, false
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// policyDocument renders aws.iam.getPolicyDocument's statements as an IAM policy document.
func policyDocument(args map[string]any) map[string]any {
	var stmts []any
	list, _ := args["statements"].([]any)
	for _, raw := range list {
		s, ok := raw.(map[string]any)
		if !ok {
			continue
		}
		out := map[string]any{"Effect": cmp.Or(str(s, "effect"), "Allow")}
		if sid := str(s, "sid"); sid != "" {
			out["Sid"] = sid
		}
		if v, ok := s["actions"]; ok {
			out["Action"] = v
		}
		if v, ok := s["resources"]; ok {
			out["Resource"] = v
		}
		if ps, ok := s["principals"].([]any); ok {
			principal := map[string]any{}
			for _, pr := range ps {
				if m, ok := pr.(map[string]any); ok {
					principal[str(m, "type")] = m["identifiers"]
				}
			}
			out["Principal"] = principal
		}
		if cs, ok := s["conditions"].([]any); ok {
			cond := map[string]any{}
			for _, c := range cs {
				m, ok := c.(map[string]any)
				if !ok {
					continue
				}
				test, _ := cond[str(m, "test")].(map[string]any)
				if test == nil {
					test = map[string]any{}
					cond[str(m, "test")] = test
				}
				test[str(m, "variable")] = m["values"]
			}
			out["Condition"] = cond
		}
		stmts = append(stmts, out)
	}
	return map[string]any{"Version": "2012-10-17", "Statement": stmts}
}
