package localcloud

import "github.com/pulumi/pulumi/sdk/v3/go/common/resource"

// The engine always sends well-formed URNs; these read them with the SDK and never panic on one that is not
// (the SDK's accessors assert validity).

// urnName returns the resource name part of a URN.
func urnName(urn string) string {
	if u := resource.URN(urn); u.IsValid() {
		return u.Name()
	}
	return urn
}

// urnStack returns the stack part of a URN ("" when it is not one).
func urnStack(urn string) string {
	if u := resource.URN(urn); u.IsValid() {
		return string(u.Stack())
	}
	return ""
}

// typeOf returns typ, or when empty the resource type of urn (without its parents' types).
func typeOf(urn, typ string) string {
	if typ != "" {
		return typ
	}
	if u := resource.URN(urn); u.IsValid() {
		return string(u.Type())
	}
	return ""
}
