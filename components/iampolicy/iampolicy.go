// Package iampolicy builds AWS IAM and KMS policy documents for the components. Pure.
package iampolicy

import (
	"encoding/json"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Statement is one IAM policy statement.
type Statement struct {
	Sid       string         `json:"Sid,omitempty"`
	Effect    string         `json:"Effect"`
	Principal map[string]any `json:"Principal,omitempty"`
	Action    []string       `json:"Action"`
	Resource  []string       `json:"Resource,omitempty"`
	Condition map[string]any `json:"Condition,omitempty"`
}

// Document renders statements as a policy document.
func Document(stmts ...Statement) (string, error) {
	b, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": stmts})
	return string(b), err
}

// Allow is an Allow statement of actions on resources.
func Allow(actions []string, resources ...string) Statement {
	return Statement{Effect: "Allow", Action: actions, Resource: resources}
}

// AssumeRole is the trust policy letting an AWS service assume a role.
func AssumeRole(service string) string {
	b, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []map[string]any{{
		"Effect": "Allow", "Principal": map[string]any{"Service": service}, "Action": "sts:AssumeRole",
	}}})
	return string(b)
}

// AccountAdmin lets the account's IAM administer a KMS key (the key policy's required root statement).
func AccountAdmin(account string) Statement {
	return Statement{Sid: "AccountAdmin", Effect: "Allow", Principal: map[string]any{"AWS": "arn:aws:iam::" + account + ":root"},
		Action: []string{"kms:*"}, Resource: []string{"*"}}
}

// KeyUse are the actions a principal needs to encrypt and decrypt with a KMS key.
var KeyUse = []string{"kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"}

// KeyPolicy renders a key policy once the account id is known: account admin plus extra(account).
func KeyPolicy(account pulumi.StringInput, extra func(account string) []Statement) pulumi.StringOutput {
	return account.ToStringOutput().ApplyT(func(acct string) (string, error) {
		stmts := []Statement{AccountAdmin(acct)}
		if extra != nil {
			stmts = append(stmts, extra(acct)...)
		}
		return Document(stmts...)
	}).(pulumi.StringOutput)
}
