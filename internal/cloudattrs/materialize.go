package cloudattrs

import "strings"

// Materialize returns the id and outputs of a new resource: inputs pass through, then the type's computed
// attributes (or the generic ones) fill what the inputs do not set.
func (a *Resource) Materialize() (string, map[string]any) {
	if a.pkg() == "random" {
		return randomMaterialize(a)
	}
	name := a.name(a.Logical + "-" + a.hex(7))
	spec, known := typeTable[a.Type]
	var id string
	switch {
	case known && spec.id != nil:
		id = spec.id(a, name)
	case a.pkg() == "aws":
		id = kebab(a.short()) + "-" + a.hex(17)
	default:
		id = "projects/" + a.Project + "/" + strings.ToLower(a.short()) + "s/" + name
	}
	out := make(map[string]any, len(a.Inputs)+8)
	for k, v := range a.Inputs {
		out[k] = v
	}
	for k, v := range a.computed(spec, known, id, name) {
		if _, set := out[k]; !set {
			out[k] = v
		}
	}
	if _, set := out["name"]; !set {
		out["name"] = name
	}
	if a.pkg() == "aws" {
		if tags, ok := out["tags"]; ok {
			out["tagsAll"] = tags
		}
	}
	return id, out
}

func (a *Resource) computed(spec typeSpec, known bool, id, name string) map[string]any {
	switch {
	case known && spec.computed != nil:
		return spec.computed(a, id, name)
	case a.pkg() == "aws":
		return map[string]any{"arn": awsARN(a, a.module(), kebab(a.short())+"/"+id)}
	}
	return nil
}

// ComputedKeys lists the attributes a type computes (unknown during a preview).
func (a *Resource) ComputedKeys() []string {
	if a.pkg() == "random" {
		return []string{"result", "hex", "b64Std", "b64Url", "dec"}
	}
	spec, known := typeTable[a.Type]
	keys := []string{"name"}
	if a.pkg() == "aws" {
		keys = append(keys, "arn", "tagsAll")
	}
	if known && spec.computed != nil {
		probe := *a
		probe.Rand = Seeded("probe")
		for k := range spec.computed(&probe, "probe/targetgroup/x", "probe") {
			keys = append(keys, k)
		}
	}
	return keys
}
