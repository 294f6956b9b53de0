package rules

import (
	"strings"
	"testing"
)

func TestUnscopedGrant(t *testing.T) {
	const tls = `{"Sid":"DenyInsecureTransport","Effect":"Deny","Principal":{"AWS":"*"},"Action":["s3:*"],"Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"]}`
	for _, c := range []struct {
		name, stmt, want string
	}{
		{"escrow readers", `{"Sid":"R","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::1:role/app"]},"Action":["s3:GetObject","s3:GetObjectVersion"],"Resource":["arn:aws:s3:::b/artifacts/*"]}`, ""},
		{"log delivery", `{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::156460612806:root"},"Action":["s3:PutObject"],"Resource":["arn:aws:s3:::b/alb/AWSLogs/*"]}`, ""},
		{"service principal", `{"Effect":"Allow","Principal":{"Service":"logdelivery.elasticloadbalancing.amazonaws.com"},"Action":["s3:PutObject"],"Resource":["arn:aws:s3:::b/*"]}`, ""},
		{"whole bucket", `{"Sid":"R","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:role/app"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`, "the whole bucket"},
		{"bucket itself", `{"Sid":"R","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:role/app"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b"}`, "the whole bucket"},
		{"listing", `{"Sid":"R","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:role/app"},"Action":["s3:GetObject","s3:ListBucket"],"Resource":"arn:aws:s3:::b/artifacts/*"}`, "grants s3:ListBucket"},
		{"wildcard action", `{"Sid":"R","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:role/app"},"Action":"s3:*","Resource":"arn:aws:s3:::b/artifacts/*"}`, "grants s3:*"},
		{"anyone", `{"Sid":"R","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/artifacts/*"}`, "any principal"},
		{"any AWS", `{"Sid":"R","Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/artifacts/*"}`, "any AWS principal"},
	} {
		got := unscopedGrant(`{"Version":"2012-10-17","Statement":[` + c.stmt + `,` + tls + `]}`)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	if got := unscopedGrant("{"); !strings.Contains(got, "not valid JSON") {
		t.Errorf("broken policy: %q", got)
	}
}
