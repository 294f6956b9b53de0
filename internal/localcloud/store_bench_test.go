package localcloud

import (
	"fmt"
	"testing"

	"github.com/plinth-dev/plinth/internal/cloudattrs"
)

// BenchmarkStorePut is the cost of one resource write into a stack of 300 resources (each write loads and
// rewrites the stack's file).
func BenchmarkStorePut(b *testing.B) {
	s, err := NewStore(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	a := &cloudattrs.Resource{Type: "aws:ec2/instance:Instance", Logical: "web", Region: cloudattrs.DefaultRegion,
		Inputs: map[string]any{"tags": map[string]any{"environment": "production", "owner": "platform"}}}
	for i := range 300 {
		id, out := a.Materialize()
		if err := s.Put("p", Resource{URN: fmt.Sprintf("urn:pulumi:p::plinth::aws:ec2/instance:Instance::web-%d", i),
			ID: id, Inputs: a.Inputs, Outputs: out}); err != nil {
			b.Fatal(err)
		}
	}
	id, out := a.Materialize()
	r := Resource{URN: "urn:pulumi:p::plinth::aws:ec2/instance:Instance::bench", ID: id, Inputs: a.Inputs, Outputs: out}
	b.ResetTimer()
	for b.Loop() {
		if err := s.Put("p", r); err != nil {
			b.Fatal(err)
		}
	}
}
