package live

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/plinth-dev/plinth/internal/localcloud"
)

// ServerConfig configures RunServer.
type ServerConfig struct {
	// Dir holds the socket (live.sock), the pid file, the operator key and each stack's platform directory.
	Dir string
	// LocalCloudDir is the local cloud's state directory: each stack's records seed its platform.
	LocalCloudDir string
	// PlinthBinary, BackupInterval and BinlogSegmentAge are the platforms' (Options).
	PlinthBinary     string
	BackupInterval   time.Duration
	BinlogSegmentAge time.Duration
}

// SocketPath is where RunServer listens for dir.
func SocketPath(dir string) string { return filepath.Join(dir, "live.sock") }

var stackIDRE = regexp.MustCompile(`[^a-z0-9]+`)

// StackID is the platform id (namespace names plt-<id>-...) of a stack: its lower-case letters and digits,
// at most 10. A drill stack (`<source>-drill-<time>`) is "d" and 9 hex digits of its name: cut to 10, its
// letters would be its source's (production-drill-... is "production") and it would take the source's
// namespaces and allocation.
func StackID(stack string) string {
	if _, _, ok := DrillSource(stack); ok {
		sum := sha256.Sum256([]byte(stack))
		return "d" + hex.EncodeToString(sum[:5])[:9]
	}
	id := stackIDRE.ReplaceAllString(strings.ToLower(stack), "")
	if len(id) > 10 {
		id = id[:10]
	}
	if id == "" {
		id = "stack"
	}
	return id
}

// PlatformID is the id of a stack's platform run by the server of dir (its namespaces plt-<id>-<host>):
// the stack's id cut to 7 characters and 3 hex digits of dir, so that two plinth homes (two operators, two
// tests) running the same stack on one machine never take each other's namespaces.
func PlatformID(dir, stack string) string {
	id := StackID(stack)
	if len(id) > 7 {
		id = id[:7]
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	sum := sha256.Sum256([]byte(abs))
	return id + hex.EncodeToString(sum[:2])[:3]
}

// RunServer is the long-lived process of the live cloud (`plinth local serve`): it checks the machine, makes
// the operator key, listens on SocketPath(Dir) (0600; a stale socket nobody answers is replaced), records its
// pid, and serves until ctx ends or a client stops it; then every platform is stopped and the socket and pid
// file are removed.
func RunServer(ctx context.Context, cfg ServerConfig) error {
	if err := Check(); err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return fmt.Errorf("live server: %w", err)
	}
	op, err := LoadOrCreateOperatorKey(cfg.Dir)
	if err != nil {
		return err
	}
	store, err := localcloud.NewStore(cfg.LocalCloudDir)
	if err != nil {
		return fmt.Errorf("live server: local cloud state: %w", err)
	}
	sock := SocketPath(cfg.Dir)
	if c, err := net.DialTimeout("unix", sock, time.Second); err == nil {
		_ = c.Close()
		return fmt.Errorf("live server: already running on %s", sock)
	}
	if err := os.Remove(sock); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("live server: %w", err)
	}
	l, err := net.Listen("unix", sock)
	if err != nil {
		return fmt.Errorf("live server: %w", err)
	}
	if err := os.Chmod(sock, 0o600); err != nil {
		_ = l.Close()
		return fmt.Errorf("live server: %w", err)
	}
	pidFile := filepath.Join(cfg.Dir, "live.pid")
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		_ = l.Close()
		return fmt.Errorf("live server: %w", err)
	}
	defer func() { _ = os.Remove(pidFile); _ = os.Remove(sock) }()
	secrets := OpenSecrets(SecretsFile(cfg.LocalCloudDir))
	stacksDir := filepath.Join(cfg.Dir, "stacks")
	srv := &Server{
		Secrets:        func(string) *Secrets { return secrets },
		AuthorizedKeys: op.Authorized,
		OperatorKey:    op.PrivatePath,
		Seed:           store.List,
		StacksDir:      stacksDir,
		Logf:           log.Printf,
		NewPlatform: func(stack string) (*Platform, error) {
			dir := filepath.Join(stacksDir, StackID(stack))
			// The ports this stack had: a restart publishes it where it was.
			a, err := LoadAllocation(dir, stack)
			if err != nil {
				return nil, err
			}
			return New(Options{ID: PlatformID(cfg.Dir, stack), Dir: dir,
				HTTPSPort: a.Published["https"], HTTPPort: a.Published["http"], SSHPort: a.Published["ssh"],
				PlinthBinary: cfg.PlinthBinary, BackupInterval: cfg.BackupInterval, BinlogSegmentAge: cfg.BinlogSegmentAge})
		},
	}
	return srv.Serve(ctx, l)
}
