package localcloud

import (
	"fmt"
	"testing"
)

// BenchmarkStorePut is the cost of one resource write into a stack of 300 resources (each write loads and
// rewrites the stack's file).
func BenchmarkStorePut(b *testing.B) {
	s, err := NewStore(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	a := &attrCtx{pkg: "aws", typ: "aws:ec2/instance:Instance", logical: "web", region: "eu-west-1",
		inputs: map[string]any{"tags": map[string]any{"environment": "production", "owner": "platform"}}}
	for i := range 300 {
		id, out := materialize(a)
		if err := s.Put("p", Resource{URN: fmt.Sprintf("urn:pulumi:p::plinth::aws:ec2/instance:Instance::web-%d", i),
			ID: id, Inputs: a.inputs, Outputs: out}); err != nil {
			b.Fatal(err)
		}
	}
	id, out := materialize(a)
	r := Resource{URN: "urn:pulumi:p::plinth::aws:ec2/instance:Instance::bench", ID: id, Inputs: a.inputs, Outputs: out}
	b.ResetTimer()
	for b.Loop() {
		if err := s.Put("p", r); err != nil {
			b.Fatal(err)
		}
	}
}
