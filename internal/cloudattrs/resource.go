// Package cloudattrs is the one table of what a cloud computes for a new resource: its id and the attributes
// (ARNs, endpoints, addresses, generated names) the provider fills in. The offline evaluation (mock engine) and
// the local cloud (real engine) both materialize resources through it, so a program sees the same shapes in
// both; they differ only in their entropy (deterministic per resource offline, crypto/rand in the local cloud).
package cloudattrs

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"unicode"
)

// Account is the AWS account id every simulated ARN carries; ProjectNumber the GCP project number.
const (
	Account       = "123456789012"
	ProjectNumber = "100000000001"
)

// The defaults a simulated resource lives in when neither its provider nor its inputs say.
const (
	DefaultRegion    = "eu-west-1"
	DefaultGCPRegion = "europe-west1"
	DefaultProject   = "plinth-local"
)

// DefaultRegionOf is the default region of a package's resources ("" for packages without regions).
func DefaultRegionOf(pkg string) string {
	switch pkg {
	case "aws":
		return DefaultRegion
	case "gcp":
		return DefaultGCPRegion
	}
	return ""
}

// Resource is what a type's id and computed attributes may depend on.
type Resource struct {
	// Type is the type token (aws:ec2/vpc:Vpc); its package is the part before the first colon.
	Type string
	// Logical is the resource's logical name (the last URN segment).
	Logical         string
	Region, Project string
	// Inputs are the resource's inputs as plain values; they pass through to the outputs.
	Inputs map[string]any
	// Rand supplies the entropy of ids and addresses: Random() or Seeded(...). Nil means Random().
	Rand io.Reader
}

// Random is crypto/rand: every materialization differs (the local cloud).
func Random() io.Reader { return rand.Reader }

// Seeded is an endless deterministic stream derived from seed: the same seed gives the same ids and
// attributes (offline evaluations, whose results feed tests).
func Seeded(seed string) io.Reader { return &seeded{seed: sha256.Sum256([]byte(seed))} }

type seeded struct {
	seed [32]byte
	n    uint64
	buf  []byte
}

func (s *seeded) Read(p []byte) (int, error) {
	for i := range p {
		if len(s.buf) == 0 {
			var ctr [8]byte
			binary.BigEndian.PutUint64(ctr[:], s.n)
			s.n++
			sum := sha256.Sum256(append(s.seed[:], ctr[:]...))
			s.buf = sum[:]
		}
		p[i], s.buf = s.buf[0], s.buf[1:]
	}
	return len(p), nil
}

func (a *Resource) pkg() string {
	p, _, _ := strings.Cut(a.Type, ":")
	return p
}

func (a *Resource) entropy() io.Reader {
	if a.Rand == nil {
		return rand.Reader
	}
	return a.Rand
}

func (a *Resource) bytes(n int) []byte {
	b := make([]byte, n)
	if _, err := io.ReadFull(a.entropy(), b); err != nil {
		// crypto/rand never fails on Linux and Seeded never fails; zeros keep the shape regardless.
		clear(b)
	}
	return b
}

func (a *Resource) module() string {
	// aws:ec2/vpc:Vpc -> ec2
	t := strings.TrimPrefix(a.Type, a.pkg()+":")
	if i := strings.IndexAny(t, "/:"); i >= 0 {
		return t[:i]
	}
	return t
}

func (a *Resource) short() string {
	if i := strings.LastIndex(a.Type, ":"); i >= 0 {
		return a.Type[i+1:]
	}
	return a.Type
}

func (a *Resource) str(key string) string {
	if v, ok := a.Inputs[key].(string); ok {
		return v
	}
	return ""
}

// name is the resource's name: its `name` input, or an autoname like the real providers make.
func (a *Resource) name(autoname string) string {
	if n := a.str("name"); n != "" {
		return n
	}
	return autoname
}

func (a *Resource) hex(n int) string { return hex.EncodeToString(a.bytes((n + 1) / 2))[:n] }

// publicIP is an address in the documentation ranges (TEST-NET-2/3): plausible, never routable.
func (a *Resource) publicIP() string {
	b := a.bytes(2)
	if b[0]%2 == 0 {
		return fmt.Sprintf("203.0.113.%d", b[1]%250+4)
	}
	return fmt.Sprintf("198.51.100.%d", b[1]%250+4)
}

func (a *Resource) ip(prefix string) string {
	b := a.bytes(2)
	return fmt.Sprintf("%s.%d.%d", prefix, b[0]%250+1, b[1]%250+4)
}

func (a *Resource) uuid() string {
	h := a.hex(32)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func (a *Resource) digits(n int) string {
	b := a.bytes(n)
	for i := range b {
		b[i] = '0' + b[i]%10
	}
	return string(b)
}

func kebab(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('-')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

func awsARN(a *Resource, service, resource string) string {
	return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, a.Region, Account, resource)
}

func awsPrefixedID(prefix string) func(*Resource, string) string {
	return func(a *Resource, _ string) string { return prefix + "-" + a.hex(17) }
}

func nameID(_ *Resource, name string) string { return name }
