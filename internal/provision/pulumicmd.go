package provision

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// FindPulumi locates the pulumi CLI: $PLINTH_PULUMI, then bin/pulumi beside the plinth executable, then
// <projectDir>/bin/pulumi (what `make` builds), then PATH.
func FindPulumi(getenv func(string) string, projectDir string) (string, error) {
	if p := getenv("PLINTH_PULUMI"); p != "" {
		if isExecutable(p) {
			return p, nil
		}
		return "", fmt.Errorf("PLINTH_PULUMI=%s: not an executable: %w", p, ErrNoPulumi)
	}
	var candidates []string
	if exe, err := os.Executable(); err == nil {
		candidates = append(candidates, filepath.Join(filepath.Dir(exe), "pulumi"))
	}
	if projectDir != "" {
		candidates = append(candidates, filepath.Join(projectDir, "bin", "pulumi"))
	}
	for _, c := range candidates {
		if isExecutable(c) {
			return c, nil
		}
	}
	if p, err := exec.LookPath("pulumi"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%w: run `make bin/pulumi` in the plinth repo, install Pulumi, or set PLINTH_PULUMI", ErrNoPulumi)
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// LanguageHost reports whether the Go language host (needed to run a Go policy pack) is beside the Pulumi CLI
// at pulumiPath or on PATH.
func LanguageHost(pulumiPath string) bool {
	if _, err := os.Stat(filepath.Join(filepath.Dir(pulumiPath), "pulumi-language-go")); err == nil {
		return true
	}
	_, err := exec.LookPath("pulumi-language-go")
	return err == nil
}
