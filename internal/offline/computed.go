package offline

import (
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/plinth-dev/plinth/internal/cloudattrs"
)

// materialize returns the id and state of a new custom resource: its inputs plus what the cloud would compute
// (ARNs, endpoints, addresses), from the attribute table the local cloud uses too. Entropy is seeded by type
// and name, so an evaluation is reproducible. id, when not empty, is the id the program asked for (a read).
func materialize(typ, name, id string, in resource.PropertyMap) (string, resource.PropertyMap) {
	a := &cloudattrs.Resource{Type: typ, Logical: name, Inputs: known(in), Rand: cloudattrs.Seeded(typ + "\x00" + name)}
	a.Region = str(in, "region")
	if a.Region == "" {
		a.Region = cloudattrs.DefaultRegionOf(packageOf(typ))
	}
	if a.Project = str(in, "project"); a.Project == "" {
		a.Project = cloudattrs.DefaultProject
	}
	made, out := a.Materialize()
	if id == "" {
		id = made
	}
	state := in.Copy()
	for k, v := range out {
		if _, set := state[resource.PropertyKey(k)]; !set {
			state[resource.PropertyKey(k)] = resource.NewPropertyValue(v)
		}
	}
	return id, state
}

func packageOf(typ string) string {
	pkg, _, _ := strings.Cut(typ, ":")
	return pkg
}

// known returns the inputs as plain values (secrets revealed: the table reads names and identifiers from
// them), without unknowns.
func known(in resource.PropertyMap) map[string]any {
	out := make(map[string]any, len(in))
	for k, v := range in {
		if v.ContainsUnknowns() {
			continue
		}
		out[string(k)] = reveal(plain(v))
	}
	return out
}

func reveal(v any) any {
	switch x := v.(type) {
	case Secret:
		return reveal(x.Value)
	case map[string]any:
		for k, e := range x {
			x[k] = reveal(e)
		}
	case []any:
		for i, e := range x {
			x[i] = reveal(e)
		}
	}
	return v
}

// str returns the string input key, or "" when it is absent or not a known string.
func str(in resource.PropertyMap, key string) string {
	v, ok := in[resource.PropertyKey(key)]
	if !ok {
		return ""
	}
	if v.IsSecret() {
		v = v.SecretValue().Element
	}
	if v.IsString() {
		return v.StringValue()
	}
	return ""
}
