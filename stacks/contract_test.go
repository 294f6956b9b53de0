package stacks

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/stacks/contract"
)

// TestInventoryContract: what every stack exports under the mock engine decodes into contract.Inventory
// strictly (no field the type lacks) and sets every field, except the few a stack's spec leaves off.
func TestInventoryContract(t *testing.T) {
	notSet := map[string][]string{ // stacks without a DR region or read replicas
		"staging":       {"drRegion", "database.drReplicaId", "database.readerEndpoints", "drNetwork"},
		"preproduction": {"drRegion", "database.drReplicaId", "drNetwork"},
	}
	for _, stack := range []string{"staging", "preproduction", "production"} {
		t.Run(stack, func(t *testing.T) {
			res := evaluate(t, stack)
			raw, err := json.Marshal(res.Outputs[contract.Output])
			if err != nil {
				t.Fatal(err)
			}
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			var inv contract.Inventory
			if err := dec.Decode(&inv); err != nil {
				t.Fatalf("the export does not decode into contract.Inventory: %v\n%s", err, raw)
			}
			if inv.Stack != stack || len(inv.Tiers) != 3 {
				t.Fatalf("stack %q tiers %v", inv.Stack, inv.Tiers)
			}
			var zero []string
			zeroFields(reflect.ValueOf(inv), "", &zero)
			want := slices.Clone(notSet[stack])
			for name := range inv.Tiers {
				if name != "app" {
					want = append(want, "tiers."+name+".targetGroupArn")
				}
			}
			slices.Sort(zero)
			slices.Sort(want)
			if !slices.Equal(zero, want) {
				t.Errorf("fields not set: %v, want only %v", zero, want)
			}
			parsed, err := contract.Parse(res.Outputs)
			if err != nil || !reflect.DeepEqual(*parsed, inv) {
				t.Errorf("Parse: %v %+v", err, parsed)
			}
		})
	}
}

// zeroFields collects the JSON paths of zero values in v (empty strings, zero numbers, nil pointers, empty
// slices and maps).
func zeroFields(v reflect.Value, path string, out *[]string) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			*out = append(*out, path)
			return
		}
		zeroFields(v.Elem(), path, out)
	case reflect.Struct:
		for i := range v.NumField() {
			name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
			zeroFields(v.Field(i), strings.TrimPrefix(path+"."+name, "."), out)
		}
	case reflect.Map:
		if v.Len() == 0 {
			*out = append(*out, path)
		}
		for _, k := range v.MapKeys() {
			zeroFields(v.MapIndex(k), path+"."+k.String(), out)
		}
	case reflect.Slice:
		if v.Len() == 0 {
			*out = append(*out, path)
		}
	default:
		if v.IsZero() {
			*out = append(*out, path)
		}
	}
}
