package backup

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/plinth-dev/plinth/internal/backup/manifest"
)

func TestParseCompression(t *testing.T) {
	for in, want := range map[string]Compression{
		"":        {Codec: manifest.CompressionS2},
		"s2":      {Codec: manifest.CompressionS2},
		"fastest": {Codec: manifest.CompressionZstd, Level: zstd.SpeedFastest},
		"default": {Codec: manifest.CompressionZstd, Level: zstd.SpeedDefault},
		"better":  {Codec: manifest.CompressionZstd, Level: zstd.SpeedBetterCompression},
	} {
		if got, err := ParseCompression(in); err != nil || got != want {
			t.Errorf("ParseCompression(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"max", "zstd", "lz4", "S2"} {
		if _, err := ParseCompression(bad); !errors.Is(err, ErrBadCompression) || !strings.Contains(err.Error(), bad) {
			t.Errorf("ParseCompression(%q): %v", bad, err)
		}
	}
	if got, _ := ParseCompression(DefaultCompressionName); (Compression{}).orDefault() != got {
		t.Errorf("the zero Compression is %+v, the default name %q gives %+v", (Compression{}).orDefault(), DefaultCompressionName, got)
	}
	if s := (Compression{Codec: manifest.CompressionZstd, Level: zstd.SpeedFastest}).String(); s != "zstd fastest" {
		t.Errorf("String() = %q", s)
	}
}

// Every codec's reused encoder and decoder round-trip several objects in turn (the worker's pattern: Reset
// per object), including an empty one; an unknown codec is an error naming it.
func TestCodecRoundTrip(t *testing.T) {
	objects := [][]byte{bytes.Repeat([]byte("1\tuser1@example.com\tnote\\\\ line\\nnext\t2026-11-23 01:00:00\n"), 40000), nil, []byte("x\n")}
	for _, name := range []string{"s2", "fastest", "default", "better"} {
		c, _ := ParseCompression(name)
		enc, err := c.newCompressor()
		if err != nil {
			t.Fatal(err)
		}
		dec, err := newDecompressor(c.Codec)
		if err != nil {
			t.Fatal(err)
		}
		for i, plain := range objects {
			var b bytes.Buffer
			enc.Reset(&b)
			if _, err := enc.Write(plain); err != nil {
				t.Fatal(err)
			}
			if err := enc.Close(); err != nil {
				t.Fatal(err)
			}
			if len(plain) > 1000 && b.Len() > len(plain)/5 {
				t.Errorf("%s: object %d: %d bytes compressed to %d", c, i, len(plain), b.Len())
			}
			r, err := dec.reset(bytes.NewReader(b.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			if err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("%s: object %d: %d bytes back of %d, %v", c, i, len(got), len(plain), err)
			}
		}
		dec.close()
	}
	if _, err := newDecompressor("lz4"); !errors.Is(err, manifest.ErrUnknownCodec) || !strings.Contains(err.Error(), `"lz4"`) {
		t.Fatalf("newDecompressor(lz4): %v", err)
	}
	if _, err := (Compression{Codec: "lz4"}).newCompressor(); !errors.Is(err, manifest.ErrUnknownCodec) {
		t.Fatalf("newCompressor(lz4): %v", err)
	}
}
