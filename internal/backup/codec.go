package backup

import (
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"

	"github.com/plinth-dev/plinth/internal/backup/manifest"
)

// Compression is how a backup's objects are compressed: the codec its manifest records and, for zstd, the
// level. The zero value is DefaultCompression.
type Compression struct {
	Codec string            // manifest.CompressionS2 or manifest.CompressionZstd
	Level zstd.EncoderLevel // zstd only
}

// DefaultCompressionName is what `backup run --compression` defaults to (docs/backup.md, "Compression").
const DefaultCompressionName = "s2"

// CompressionHelp describes the --compression values.
const CompressionHelp = "s2 (the default: ~2.4x less CPU than zstd fastest, ~1.9x its bytes), or zstd at level fastest (~zstd -1), default (~zstd -3) or better (more CPU, smaller)"

// CompressionNames are the --compression values, the default first.
func CompressionNames() []string { return []string{"s2", "fastest", "default", "better"} }

// ErrBadCompression is returned for a --compression value ParseCompression does not know.
var ErrBadCompression = errors.New("want s2, fastest, default or better")

// ParseCompression maps a --compression value to a Compression: s2 (the default, also for ""), or zstd at
// level fastest, default or better (the names from before s2, kept).
func ParseCompression(s string) (Compression, error) {
	switch s {
	case "s2", "":
		return Compression{Codec: manifest.CompressionS2}, nil
	case "fastest":
		return Compression{Codec: manifest.CompressionZstd, Level: zstd.SpeedFastest}, nil
	case "default":
		return Compression{Codec: manifest.CompressionZstd, Level: zstd.SpeedDefault}, nil
	case "better":
		return Compression{Codec: manifest.CompressionZstd, Level: zstd.SpeedBetterCompression}, nil
	}
	return Compression{}, fmt.Errorf("compression %q: %w", s, ErrBadCompression)
}

func (c Compression) orDefault() Compression {
	if c.Codec == "" {
		c, _ = ParseCompression(DefaultCompressionName)
	}
	if c.Codec == manifest.CompressionZstd && c.Level == 0 {
		c.Level = zstd.SpeedDefault
	}
	return c
}

// String names c for logs and the bench: "s2", "zstd fastest", ...
func (c Compression) String() string {
	c = c.orDefault()
	if c.Codec == manifest.CompressionZstd {
		return c.Codec + " " + c.Level.String()
	}
	return c.Codec
}

// compressor is one worker's reusable stream encoder, Reset onto each object.
type compressor interface {
	io.WriteCloser
	Reset(w io.Writer)
}

// newCompressor builds a synchronous encoder for c. Neither codec's own checksum protects anything here:
// each object's sha256 in the manifest and age's authenticated chunks cover every byte (zstd's frame CRC is
// off, an xxhash pass over the plaintext; s2 always writes its CRC-32C, hardware-accelerated).
func (c Compression) newCompressor() (compressor, error) {
	c = c.orDefault()
	switch c.Codec {
	case manifest.CompressionZstd:
		e, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(c.Level), zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(4<<20), zstd.WithEncoderCRC(false))
		if err != nil {
			return nil, err
		}
		return e, nil
	case manifest.CompressionS2:
		return s2.NewWriter(nil, s2.WriterConcurrency(1)), nil
	}
	return nil, fmt.Errorf("compression %q: %w", c.Codec, manifest.ErrUnknownCodec)
}

// NewWriter is an encoder of c onto w configured exactly as a backup's (bench-backup's -codecs compares
// the codecs with it).
func (c Compression) NewWriter(w io.Writer) (io.WriteCloser, error) {
	e, err := c.newCompressor()
	if err != nil {
		return nil, err
	}
	e.Reset(w)
	return e, nil
}

// NewReader is the plaintext of r, compressed with codec, decoded as restore decodes it (synchronously:
// nothing to close).
func NewReader(codec string, r io.Reader) (io.Reader, error) {
	d, err := newDecompressor(codec)
	if err != nil {
		return nil, err
	}
	return d.reset(r)
}

// decompressor is one worker's reusable stream decoder for a codec.
type decompressor interface {
	// reset starts decoding r, returning the plaintext reader.
	reset(r io.Reader) (io.Reader, error)
	close()
}

type zstdDecompressor struct{ d *zstd.Decoder }

func (z zstdDecompressor) reset(r io.Reader) (io.Reader, error) { return z.d, z.d.Reset(r) }
func (z zstdDecompressor) close()                               { z.d.Close() }

type s2Decompressor struct{ r *s2.Reader }

func (s s2Decompressor) reset(r io.Reader) (io.Reader, error) { s.r.Reset(r); return s.r, nil }
func (s s2Decompressor) close()                               {}

// newDecompressor is a low-memory synchronous decoder of codec (a manifest's compression, or zstd for
// binlog segments); an unknown codec is an error naming it.
func newDecompressor(codec string) (decompressor, error) {
	switch codec {
	case manifest.CompressionZstd:
		d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(64<<20))
		if err != nil {
			return nil, err
		}
		return zstdDecompressor{d}, nil
	case manifest.CompressionS2:
		return s2Decompressor{s2.NewReader(nil)}, nil
	}
	return nil, fmt.Errorf("compression %q: %w", codec, manifest.ErrUnknownCodec)
}

// objectExt is the extension data and schema objects of a backup compressed with c carry.
func (c Compression) objectExt() string {
	ext, _ := manifest.CodecExt(c.orDefault().Codec)
	return ext
}
