package live

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/crypto/ssh"
)

// OperatorKey is the key plinth generates for the local cloud's operator: its private key file (for
// `plinth deploy --cloud local` without --identity) and the authorized_keys line every host accepts (the
// local SSM parameter's value).
type OperatorKey struct {
	PrivatePath string
	Authorized  string
}

// LoadOrCreateOperatorKey reads dir/operator_ed25519 or creates it (0600, never replaced once written).
func LoadOrCreateOperatorKey(dir string) (OperatorKey, error) {
	path := filepath.Join(dir, "operator_ed25519")
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		_, priv, gerr := ed25519.GenerateKey(rand.Reader)
		if gerr != nil {
			return OperatorKey{}, gerr
		}
		block, merr := ssh.MarshalPrivateKey(priv, "plinth local cloud operator")
		if merr != nil {
			return OperatorKey{}, merr
		}
		data = pem.EncodeToMemory(block)
		f, oerr := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if oerr != nil {
			return OperatorKey{}, fmt.Errorf("operator key %s: %w", path, oerr)
		}
		if _, werr := f.Write(data); werr != nil {
			_ = f.Close()
			return OperatorKey{}, fmt.Errorf("operator key %s: %w", path, werr)
		}
		if cerr := f.Close(); cerr != nil {
			return OperatorKey{}, fmt.Errorf("operator key %s: %w", path, cerr)
		}
	} else if err != nil {
		return OperatorKey{}, fmt.Errorf("operator key: %w", err)
	}
	signer, err := ssh.ParsePrivateKey(data)
	if err != nil {
		return OperatorKey{}, fmt.Errorf("operator key %s: %w", path, err)
	}
	return OperatorKey{PrivatePath: path, Authorized: string(ssh.MarshalAuthorizedKey(signer.PublicKey()))}, nil
}

// WriteKnownHosts writes the platform's known_hosts (every host's address, the published bastion) to path.
func (p *Platform) WriteKnownHosts(path string) error {
	if err := os.WriteFile(path, []byte(p.KnownHosts()), 0o600); err != nil {
		return fmt.Errorf("known_hosts: %w", err)
	}
	return nil
}
