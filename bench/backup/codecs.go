package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"filippo.io/age"
	"github.com/klauspost/compress/s2"

	"github.com/plinth-dev/plinth/internal/backup"
	"github.com/plinth-dev/plinth/internal/backup/manifest"
)

// codecCase is one compressor measured by -codecs, configured as `plinth backup run` configures it
// (internal/backup/codec.go): synchronous, one per worker.
type codecCase struct {
	name string
	enc  func(w io.Writer) io.WriteCloser
	dec  func(r io.Reader) (io.Reader, error)
}

func codecCases() []codecCase {
	product := func(name string, c backup.Compression) codecCase {
		return codecCase{name, func(w io.Writer) io.WriteCloser {
			e, err := c.NewWriter(w)
			if err != nil {
				panic(err) // every Compression here is a known codec
			}
			return e
		}, func(r io.Reader) (io.Reader, error) { return backup.NewReader(c.Codec, r) }}
	}
	fastest, _ := backup.ParseCompression("fastest")
	def, _ := backup.ParseCompression("default")
	s2c, _ := backup.ParseCompression("s2")
	return []codecCase{
		product("zstd fastest", fastest),
		product("zstd default", def),
		product("s2", s2c),
		// Not a --compression value: measured to show why it is not offered (docs/backup.md, "Compression").
		{"s2 better", func(w io.Writer) io.WriteCloser {
			return s2.NewWriter(w, s2.WriterConcurrency(1), s2.WriterBetterCompression())
		}, func(r io.Reader) (io.Reader, error) { return backup.NewReader(manifest.CompressionS2, r) }},
	}
}

// runCodecs measures, on the plaintext of the latest backup in each vault under dir (the first part of
// every table: the data the bench's backups compress), the CPU time and output size of each codec, and the
// CPU time to decode it, medians of rounds. Nothing else runs in the process meanwhile.
func runCodecs(dir string, n int) error {
	idf, err := os.Open(filepath.Join(dir, "bench.key"))
	if err != nil {
		return err
	}
	ids, err := age.ParseIdentities(idf)
	idf.Close()
	if err != nil {
		return err
	}
	fmt.Printf("%-9s %-13s %9s %9s %6s %9s %9s %9s\n", "set", "codec", "plain MB", "out MB", "ratio", "enc s", "enc MB/s", "dec s")
	for _, set := range []struct{ name, vault string }{{dbName, "vault"}, {bigDB, "vault-big"}} {
		plain, err := samplePlaintext(filepath.Join(dir, set.vault), ids)
		if err != nil {
			return fmt.Errorf("%s: %w", set.name, err)
		}
		var total int
		for _, p := range plain {
			total += len(p)
		}
		for _, c := range codecCases() {
			var enc, dec rounds
			var out int
			for r := 0; r < n; r++ {
				var comp [][]byte
				d := cpu(func() {
					comp, out = nil, 0
					for _, p := range plain {
						var b bytes.Buffer
						w := c.enc(&b)
						w.Write(p)
						w.Close()
						comp = append(comp, b.Bytes())
						out += b.Len()
					}
				})
				enc.add(d)
				var derr error
				d = cpu(func() {
					for i, b := range comp {
						zr, err := c.dec(bytes.NewReader(b))
						if err != nil {
							derr = err
							return
						}
						n, err := io.Copy(io.Discard, zr)
						if err != nil || n != int64(len(plain[i])) {
							derr = fmt.Errorf("%s: decoded %d of %d bytes: %v", c.name, n, len(plain[i]), err)
							return
						}
					}
				})
				if derr != nil {
					return derr
				}
				dec.add(d)
			}
			e := enc.median().Seconds()
			fmt.Printf("%-9s %-13s %9.1f %9.1f %6.2f %9.3f %9.0f %9.3f   enc %v dec %v\n", set.name, c.name, float64(total)/1e6, float64(out)/1e6,
				float64(total)/float64(out), e, float64(total)/1e6/e, dec.median().Seconds(), enc, dec)
		}
	}
	return nil
}

// cpu is the process CPU time (user + system) f takes.
func cpu(f func()) time.Duration {
	var a, b syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &a)
	f()
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &b)
	tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	return tv(b.Utime) - tv(a.Utime) + tv(b.Stime) - tv(a.Stime)
}

// samplePlaintext decrypts and decompresses the first data object of every table of the latest complete
// backup in vault.
func samplePlaintext(vault string, ids []age.Identity) ([][]byte, error) {
	backups, err := filepath.Glob(filepath.Join(vault, "*", manifest.ManifestName))
	if err != nil || len(backups) == 0 {
		return nil, fmt.Errorf("no complete backup in %s (run the bench once first)", vault)
	}
	sort.Strings(backups)
	body, err := os.ReadFile(backups[len(backups)-1])
	if err != nil {
		return nil, err
	}
	m, err := manifest.Decode(body)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, t := range m.Tables {
		if len(t.Parts) == 0 {
			continue
		}
		f, err := os.Open(filepath.Join(filepath.Dir(backups[len(backups)-1]), t.Parts[0]))
		if err != nil {
			return nil, err
		}
		ar, err := age.Decrypt(f, ids...)
		if err != nil {
			f.Close()
			return nil, err
		}
		zr, err := backup.NewReader(m.Compression, ar)
		if err != nil {
			f.Close()
			return nil, err
		}
		b, err := io.ReadAll(zr)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.Parts[0], err)
		}
		out = append(out, b)
	}
	return out, nil
}

// codecOf is the compression recorded by the latest backup's manifest in vault, for the bench's lines.
func codecOf(vault string) string {
	backups, _ := filepath.Glob(filepath.Join(vault, "*", manifest.ManifestName))
	if len(backups) == 0 {
		return "?"
	}
	sort.Strings(backups)
	body, err := os.ReadFile(backups[len(backups)-1])
	if err != nil {
		return "?"
	}
	var m struct {
		Compression string `json:"compression"`
	}
	if json.Unmarshal(body, &m) != nil {
		return "?"
	}
	return m.Compression
}
