package live

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
)

// Secrets is the local cloud's Secrets Manager: secret id (an ARN the engine returned, or a name such as
// plinth/<stack>/db-backup-user) -> secret string, kept in one JSON file (0600, in a 0700 directory)
// under the local cloud's directory. The live cloud writes the secrets the program asked for (the RDS
// master user's managed secret, the values of aws:secretsmanager/secretVersion resources, the vault's
// identities); `plinth backup` and the sample service read them (internal/cloud's local seam reads the same
// file). Nothing here logs a value.
type Secrets struct {
	path string
	mu   sync.Mutex
	mem  map[string]string // path "": the secrets live in memory only
}

// SecretsFile is the secrets file of a local cloud directory.
func SecretsFile(localCloudDir string) string {
	return filepath.Join(localCloudDir, "secretsmanager", "secrets.json")
}

// OpenSecrets returns the store at path (created on the first Put); path "" keeps nothing on disk.
func OpenSecrets(path string) *Secrets { return &Secrets{path: path} }

type secretsFile struct {
	Secrets map[string]string `json:"secrets"`
}

func (s *Secrets) load() (map[string]string, error) {
	m := map[string]string{}
	if s.path == "" {
		for k, v := range s.mem {
			m[k] = v
		}
		return m, nil
	}
	b, err := os.ReadFile(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	var f secretsFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("secrets %s: %w", s.path, err)
	}
	if f.Secrets != nil {
		m = f.Secrets
	}
	return m, nil
}

func (s *Secrets) save(m map[string]string) error {
	if s.path == "" {
		s.mem = m
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return fmt.Errorf("secrets: %w", err)
	}
	b, err := json.MarshalIndent(secretsFile{Secrets: m}, "", "  ")
	if err != nil {
		return err
	}
	tmp := s.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("secrets: %w", err)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return fmt.Errorf("secrets: %w", err)
	}
	return nil
}

// ErrNoSecret is returned for an id the store does not hold.
var ErrNoSecret = errors.New("no such secret")

// Get returns a secret's value.
func (s *Secrets) Get(id string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.load()
	if err != nil {
		return "", err
	}
	v, ok := m[id]
	if !ok {
		return "", fmt.Errorf("secret %s: %w", id, ErrNoSecret)
	}
	return v, nil
}

// Put sets a secret's value.
func (s *Secrets) Put(id, value string) error {
	if id == "" {
		return errors.New("secrets: empty secret id")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.load()
	if err != nil {
		return err
	}
	if old, ok := m[id]; ok && old == value {
		return nil
	}
	m[id] = value
	return s.save(m)
}

// GetOrCreate returns a secret's value, storing make()'s when it has none.
func (s *Secrets) GetOrCreate(id string, make func() (string, error)) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.load()
	if err != nil {
		return "", err
	}
	if v, ok := m[id]; ok {
		return v, nil
	}
	v, err := make()
	if err != nil {
		return "", fmt.Errorf("secret %s: %w", id, err)
	}
	m[id] = v
	return v, s.save(m)
}

// IDs lists the secrets' ids (never their values), sorted.
func (s *Secrets) IDs() ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.load()
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out, nil
}

// MasterSecret is the JSON of an RDS managed master-user secret, as Secrets Manager holds it.
type MasterSecret struct {
	Username string `json:"username"`
	Password string `json:"password"`
	// Engine, Host and Port are set on the secrets plinth writes for its own users (backup).
	Engine string `json:"engine,omitempty"`
	Host   string `json:"host,omitempty"`
	Port   int    `json:"port,omitempty"`
}
