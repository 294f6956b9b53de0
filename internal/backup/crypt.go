package backup

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"filippo.io/age"
)

// Fingerprint identifies an age recipient in manifests: the first 8 bytes of sha256 of its "age1..." string.
func Fingerprint(recipient string) string {
	sum := sha256.Sum256([]byte(recipient))
	return hex.EncodeToString(sum[:8])
}

// Recipients are the public keys a backup is encrypted to.
type Recipients struct {
	list []age.Recipient
	fps  []string
}

// Fingerprints of the recipients, in order.
func (r Recipients) Fingerprints() []string { return r.fps }

// Len is the number of recipients.
func (r Recipients) Len() int { return len(r.list) }

// ParseRecipients parses age X25519 public keys ("age1..."); blank lines and # comments are skipped.
func ParseRecipients(keys []string) (Recipients, error) {
	var r Recipients
	seen := map[string]bool{}
	for _, k := range keys {
		k = strings.TrimSpace(k)
		if k == "" || strings.HasPrefix(k, "#") {
			continue
		}
		rc, err := age.ParseX25519Recipient(k)
		if err != nil {
			return Recipients{}, fmt.Errorf("recipient %q: %w", short(k), err)
		}
		if seen[rc.String()] {
			continue
		}
		seen[rc.String()] = true
		r.list = append(r.list, rc)
		r.fps = append(r.fps, Fingerprint(rc.String()))
	}
	if len(r.list) == 0 {
		return Recipients{}, fmt.Errorf("no age recipients: pass --recipient age1... or --recipients-file")
	}
	return r, nil
}

// ReadRecipientsFile reads one recipient per line.
func ReadRecipientsFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("recipients file: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("recipients file %s: %w", path, err)
	}
	return out, nil
}

// Identities are private keys for verify and restore.
type Identities struct {
	list []age.Identity
	fps  []string
}

// Fingerprints of the identities' public keys.
func (i Identities) Fingerprints() []string { return i.fps }

// ParseIdentities reads an age identity file (AGE-SECRET-KEY-1... lines). Only X25519 identities are used.
func ParseIdentities(r io.Reader) (Identities, error) {
	ids, err := age.ParseIdentities(r)
	if err != nil {
		return Identities{}, fmt.Errorf("identity file: %w", err)
	}
	var out Identities
	for _, id := range ids {
		x, ok := id.(*age.X25519Identity)
		if !ok {
			continue
		}
		out.list = append(out.list, x)
		out.fps = append(out.fps, Fingerprint(x.Recipient().String()))
	}
	if len(out.list) == 0 {
		return Identities{}, fmt.Errorf("identity file: no X25519 identity (AGE-SECRET-KEY-1...)")
	}
	return out, nil
}

// ReadIdentityFile parses the identity file at path.
func ReadIdentityFile(path string) (Identities, error) {
	f, err := os.Open(path)
	if err != nil {
		return Identities{}, fmt.Errorf("identity file: %w", err)
	}
	defer f.Close()
	ids, err := ParseIdentities(f)
	if err != nil {
		return Identities{}, fmt.Errorf("%s: %w", path, err)
	}
	return ids, nil
}

func short(s string) string {
	if len(s) > 16 {
		return s[:12] + "..."
	}
	return s
}

// KeyPair is a new identity written by WriteNewIdentity: its public key (the recipient backups are
// encrypted to) and where the private part went. The private part is never returned.
type KeyPair struct {
	IdentityFile string `json:"identityFile"`
	Recipient    string `json:"recipient"`
	Fingerprint  string `json:"fingerprint"`
}

// WriteNewIdentity generates an age X25519 identity and writes it to path (mode 0600, in age-keygen's
// format), refusing to replace an existing file: a lost identity is every backup encrypted to it lost.
func WriteNewIdentity(path string, now time.Time) (KeyPair, error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return KeyPair{}, fmt.Errorf("identity: %w", err)
	}
	rcpt := id.Recipient().String()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return KeyPair{}, fmt.Errorf("identity file %s exists: refusing to replace an identity (backups encrypted to it need it)", path)
		}
		return KeyPair{}, fmt.Errorf("identity file: %w", err)
	}
	_, werr := fmt.Fprintf(f, "# created: %s\n# public key: %s\n%s\n", now.UTC().Format(time.RFC3339), rcpt, id.String())
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		_ = os.Remove(path)
		return KeyPair{}, fmt.Errorf("identity file %s: %w", path, werr)
	}
	return KeyPair{IdentityFile: path, Recipient: rcpt, Fingerprint: Fingerprint(rcpt)}, nil
}
