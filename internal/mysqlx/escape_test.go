package mysqlx

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// naiveEscape is appendEscaped one byte at a time: the reference the word-at-a-time scan must match.
func naiveEscape(v []byte) []byte {
	var out []byte
	for _, c := range v {
		switch c {
		case '\\':
			out = append(out, '\\', '\\')
		case '\t':
			out = append(out, '\\', 't')
		case '\n':
			out = append(out, '\\', 'n')
		case 0:
			out = append(out, '\\', '0')
		default:
			out = append(out, c)
		}
	}
	return out
}

func TestAppendEscapedMatchesByteByByte(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	// Bytes near the escaped ones (borrows across bytes are where a word-at-a-time test goes wrong).
	alphabet := []byte{0, 1, 8, '\t', '\n', 11, '\\', '[', ']', 0x5d, 0x7f, 0x80, 0xdc, 0xff, 'a', ' '}
	for i := 0; i < 20000; i++ {
		v := make([]byte, r.IntN(40))
		for j := range v {
			if r.IntN(3) == 0 {
				v[j] = alphabet[r.IntN(len(alphabet))]
			} else {
				v[j] = byte(r.IntN(256))
			}
		}
		if got, want := appendEscaped([]byte("x"), v), append([]byte("x"), naiveEscape(v)...); !bytes.Equal(got, want) {
			t.Fatalf("appendEscaped(%q) = %q, want %q", v, got, want)
		}
	}
}

func FuzzAppendEscaped(f *testing.F) {
	f.Add([]byte("plain ascii text of some length"))
	f.Add([]byte("a\\b\tc\nd\x00e12345678\\"))
	f.Fuzz(func(t *testing.T, v []byte) {
		if got, want := appendEscaped(nil, v), naiveEscape(v); !bytes.Equal(got, want) {
			t.Fatalf("appendEscaped(%q) = %q, want %q", v, got, want)
		}
	})
}

func BenchmarkAppendEscaped(b *testing.B) {
	v := bytes.Repeat([]byte(`{"session":"3f786850e387550fdab836ed7e6dc881de23001b","path":"/app/1/items"}`), 4)
	dst := make([]byte, 0, 1024)
	b.SetBytes(int64(len(v)))
	for b.Loop() {
		dst = appendEscaped(dst[:0], v)
	}
}
