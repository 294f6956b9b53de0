package provision

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"gopkg.in/yaml.v3"
)

// cliOwnedKeys are the keys the CLI owns in a stack settings file: they stay as the CLI wrote them in the work
// dir.
func cliOwnedKeys() []string { return []string{"secretsprovider", "encryptedkey", "encryptionsalt"} }

// mergeStackSettings returns the work dir's stack settings: the repo's stack config (config:, environment:)
// with the secrets-provider keys the CLI keeps in the work dir copy. The repo file is never written.
func mergeStackSettings(repo, work []byte) ([]byte, error) {
	var src map[string]any
	if err := yaml.Unmarshal(repo, &src); err != nil {
		return nil, fmt.Errorf("stack config: %w", err)
	}
	if src == nil {
		src = map[string]any{}
	}
	var cur map[string]any
	if len(work) > 0 {
		if err := yaml.Unmarshal(work, &cur); err != nil {
			return nil, fmt.Errorf("work dir stack settings: %w", err)
		}
	}
	for _, k := range cliOwnedKeys() {
		delete(src, k)
		if v, ok := cur[k]; ok {
			src[k] = v
		}
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(src); err != nil {
		return nil, fmt.Errorf("stack settings: %w", err)
	}
	return buf.Bytes(), enc.Close()
}

func writeStackSettings(workDir, stack string, repo []byte) error {
	path := filepath.Join(workDir, "Pulumi."+stack+".yaml")
	cur, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("stack settings %s: %w", path, err)
	}
	merged, err := mergeStackSettings(repo, cur)
	if err != nil {
		return err
	}
	if bytes.Equal(merged, cur) {
		return nil
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, merged, 0o600); err != nil {
		return fmt.Errorf("stack settings %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("stack settings %s: %w", path, err)
	}
	return nil
}

// ConfigHash is the sha256 of every stack's config, by stack name: a change to any environment's config is a
// new revision that preproduction must apply before production may.
func ConfigHash(configs map[string][]byte) string {
	names := make([]string, 0, len(configs))
	for n := range configs {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(configs[n]))
		h.Write(configs[n])
	}
	return hex.EncodeToString(h.Sum(nil))
}
