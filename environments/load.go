package environments

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"sort"
	"strings"

	"github.com/hashicorp/go-multierror"
	"gopkg.in/yaml.v3"
)

// Project is the Pulumi project name (Pulumi.yaml); config keys without a namespace belong to it.
const Project = "plinth"

//go:embed Pulumi.*.yaml
var stackFiles embed.FS

// Stacks lists the stacks whose config ships with plinth, sorted.
func Stacks() []string {
	names, _ := fs.Glob(stackFiles, "Pulumi.*.yaml")
	out := make([]string, 0, len(names))
	for _, n := range names {
		out = append(out, strings.TrimSuffix(strings.TrimPrefix(n, "Pulumi."), ".yaml"))
	}
	sort.Strings(out)
	return out
}

// EmbeddedStackFile returns the shipped environments/Pulumi.<stack>.yaml.
func EmbeddedStackFile(stack string) ([]byte, error) {
	data, err := stackFiles.ReadFile("Pulumi." + stack + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("stack %q: no shipped config (known: %s)", stack, strings.Join(Stacks(), ", "))
	}
	return data, nil
}

// StackConfig is a stack's config as the Pulumi engine hands it to a program: "namespace:key" -> value, with
// objects and lists JSON-encoded. Secret names the keys whose values are encrypted in the file.
type StackConfig struct {
	Values map[string]string
	Secret []string
}

// ParseStackFile reads a Pulumi.<stack>.yaml document.
func ParseStackFile(data []byte) (StackConfig, error) {
	var doc struct {
		Config map[string]any `yaml:"config"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return StackConfig{}, fmt.Errorf("parse stack config: %w", err)
	}
	out := StackConfig{Values: map[string]string{}}
	for k, v := range doc.Config {
		key := k
		if !strings.Contains(key, ":") {
			key = Project + ":" + key
		}
		if m, ok := v.(map[string]any); ok {
			if _, secure := m["secure"]; secure && len(m) == 1 {
				out.Secret = append(out.Secret, key)
				out.Values[key] = "[secret]"
				continue
			}
		}
		if s, ok := v.(string); ok {
			out.Values[key] = s
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			return StackConfig{}, fmt.Errorf("stack config %s: %w", key, err)
		}
		out.Values[key] = string(b)
	}
	sort.Strings(out.Secret)
	return out, nil
}

// Load builds the Spec of stack from its config values: the environment kind's defaults, overridden by the
// `plinth:spec` object, then validated. The error lists every problem at once (a *multierror.Error of
// *FieldError), sorted by key.
func Load(stack string, config map[string]string) (Spec, error) {
	var errs errorList
	for k := range config {
		if strings.HasPrefix(k, Project+":") && k != ConfigKey && k != DrillConfigKey {
			errs.add(k, "unknown key: plinth reads its settings from %s", ConfigKey)
		}
	}
	raw, ok := config[ConfigKey]
	if !ok {
		errs.add(ConfigKey, "missing: the stack config must set the environment spec")
		return Spec{Stack: stack}, finish(errs)
	}
	var obj any
	if err := json.Unmarshal([]byte(raw), &obj); err != nil {
		errs.add(ConfigKey, "not valid JSON: %v", err)
		return Spec{Stack: stack}, finish(errs)
	}
	m, ok := obj.(map[string]any)
	if !ok {
		errs.add(ConfigKey, "want an object, got %s", describe(obj))
		return Spec{Stack: stack}, finish(errs)
	}
	kind, _ := m["environment"].(string)
	if kind == "" {
		kind = stack // a stack named after its kind needs no `environment` key
	}
	spec, known := Defaults(kind)
	if !known {
		errs.add(ConfigKey+".environment", "want one of %s, %s, %s; got %q", Staging, Preproduction, Production, kind)
		return Spec{Stack: stack}, finish(errs)
	}
	decode(ConfigKey, m, reflect.ValueOf(&spec).Elem(), &errs)
	spec.Stack = stack
	errs = append(errs, Validate(spec)...)
	return spec, finish(errs)
}

// LoadFile parses a stack file and loads its spec.
func LoadFile(stack string, data []byte) (Spec, error) {
	cfg, err := ParseStackFile(data)
	if err != nil {
		return Spec{Stack: stack}, err
	}
	return Load(stack, cfg.Values)
}

func finish(errs errorList) error {
	if len(errs) == 0 {
		return nil
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].(*FieldError).Key < errs[j].(*FieldError).Key })
	me := &multierror.Error{ErrorFormat: formatErrors}
	me.Errors = errs
	return me
}

func formatErrors(errs []error) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d problem(s) in the environment spec:", len(errs))
	for _, e := range errs {
		b.WriteString("\n  - ")
		b.WriteString(e.Error())
	}
	return b.String()
}

// Problems returns the FieldErrors anywhere inside err (nil when it holds none), through wrapping and nested
// multierrors: the engine wraps a program's error in a multierror of its own.
func Problems(err error) []*FieldError {
	var out []*FieldError
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case nil:
		case *FieldError:
			out = append(out, e)
		case *multierror.Error:
			for _, inner := range e.Errors {
				walk(inner)
			}
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				walk(inner)
			}
		default:
			walk(errors.Unwrap(err))
		}
	}
	walk(err)
	return out
}

// StackFile renders config values ("namespace:key" -> value, objects and lists JSON-encoded, as
// ParseStackFile returns them) as a Pulumi.<stack>.yaml document: what plinth writes for a stack it creates
// itself (a DR drill's). ParseStackFile of the result gives values back.
func StackFile(values map[string]string) ([]byte, error) {
	doc := map[string]any{}
	for k, v := range values {
		var obj any
		if err := json.Unmarshal([]byte(v), &obj); err == nil {
			switch obj.(type) {
			case map[string]any, []any:
				doc[k] = obj
				continue
			}
		}
		doc[k] = v
	}
	return yaml.Marshal(map[string]any{"config": doc})
}
