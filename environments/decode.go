package environments

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
)

// FieldError is one problem with one config key.
type FieldError struct {
	Key string // e.g. plinth:spec.tiers.app.min
	Msg string
}

func (e *FieldError) Error() string { return e.Key + ": " + e.Msg }

// errorList collects FieldErrors in the order they are found.
type errorList []error

func (l *errorList) add(key, format string, args ...any) {
	*l = append(*l, &FieldError{Key: key, Msg: fmt.Sprintf(format, args...)})
}

// decode applies raw (a value produced by encoding/json into `any`) onto dst, a settable value, keeping dst's
// current content (the defaults) wherever raw is silent. Every unknown key and every type mismatch is reported,
// not only the first.
func decode(key string, raw any, dst reflect.Value, errs *errorList) {
	switch dst.Kind() {
	case reflect.Struct:
		obj, ok := raw.(map[string]any)
		if !ok {
			errs.add(key, "want an object, got %s", describe(raw))
			return
		}
		fields := jsonFields(dst.Type())
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			idx, ok := fields[k]
			if !ok {
				errs.add(key+"."+k, "unknown key (known: %s)", strings.Join(sortedKeys(fields), ", "))
				continue
			}
			decode(key+"."+k, obj[k], dst.Field(idx), errs)
		}
	case reflect.String:
		s, ok := raw.(string)
		if !ok {
			errs.add(key, "want a string, got %s", describe(raw))
			return
		}
		dst.SetString(s)
	case reflect.Bool:
		b, ok := raw.(bool)
		if !ok {
			errs.add(key, "want true or false, got %s", describe(raw))
			return
		}
		dst.SetBool(b)
	case reflect.Int:
		f, ok := raw.(float64)
		if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<31 {
			errs.add(key, "want an integer, got %s", describe(raw))
			return
		}
		dst.SetInt(int64(f))
	case reflect.Slice:
		list, ok := raw.([]any)
		if !ok {
			errs.add(key, "want a list, got %s", describe(raw))
			return
		}
		out := reflect.MakeSlice(dst.Type(), len(list), len(list))
		for i, item := range list {
			decode(fmt.Sprintf("%s[%d]", key, i), item, out.Index(i), errs)
		}
		dst.Set(out)
	default:
		errs.add(key, "unsupported field kind %s", dst.Kind())
	}
}

// jsonFields maps the json names of t's exported fields to their index.
func jsonFields(t reflect.Type) map[string]int {
	out := map[string]int{}
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		out[name] = i
	}
	return out
}

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("string %q", x)
	case float64:
		return fmt.Sprintf("number %v", x)
	case bool:
		return fmt.Sprintf("boolean %v", x)
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
