package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/plinth-dev/plinth/internal/inventory"
)

// Staging is how the artifact reaches the hosts.
type Staging string

// Staging modes.
const (
	// StagingPush sends a copy to every host over its SSH connection (through the bastion): N copies leave
	// the operator's machine.
	StagingPush Staging = "push"
	// StagingPull uploads the artifact once to an object store (content-addressed key) and has every host
	// fetch it with a short-lived presigned URL and verify its sha256 itself; SSH stays the control path.
	StagingPull Staging = "pull"
)

// PullFromHosts is the host count from which "auto" staging pulls when a store is configured. Pushing costs
// N x artifact / (the operator's uplink, the bastion's bandwidth): it grows with every host. Pulling costs
// one upload plus one fetch at each host's own bandwidth, whatever N, but adds the store round trips and
// needs the store. Under the modelled link (docs/deploy.md, "Scale"), pull is already ahead at a handful of
// hosts; 20 keeps small tiers independent of the store (one less system in their path) while a push of
// 20 copies of a 50 MiB artifact over a 100 Mbit/s uplink already takes ~80 s.
const PullFromHosts = 20

// ChooseStaging resolves mode ("push", "pull", "auto" or "") for a tier of hosts hosts.
func ChooseStaging(mode string, hosts int, haveStore bool) (Staging, error) {
	switch mode {
	case string(StagingPush):
		return StagingPush, nil
	case string(StagingPull):
		if !haveStore {
			return "", errors.New("staging pull: no artifact store configured")
		}
		return StagingPull, nil
	case "", "auto":
		if haveStore && hosts >= PullFromHosts {
			return StagingPull, nil
		}
		return StagingPush, nil
	}
	return "", fmt.Errorf("staging %q: want push, pull or auto", mode)
}

// ArtifactStore is the object store of pull staging.
type ArtifactStore interface {
	// Put stores the local file under key unless an object of that size is there already; it returns the
	// bytes it sent (0 when present).
	Put(ctx context.Context, key, local string, size int64) (int64, error)
	// PresignGet returns a URL that lets its bearer GET key for ttl.
	PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error)
}

// FetchSpec is a host's download of a stored artifact.
type FetchSpec struct {
	Local  string `json:"local"`
	Key    string `json:"key"`
	Remote string `json:"remote"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// StoreKey is the content-addressed key of an artifact.
func StoreKey(sha string) string { return "artifacts/sha256/" + sha }

// PresignTTL is how long a host's fetch URL is valid.
const PresignTTL = 10 * time.Minute

// scriptFetch reads the URL from stdin (never argv: it would show in ps), keeps a stored copy whose sha256
// matches, otherwise downloads next to the target, verifies the sha256 and renames into place. It prints
// "have" or "fetched".
const scriptFetch = `set -eu
D=$1 S=$2
read -r url
h() { if command -v openssl >/dev/null 2>&1; then openssl dgst -sha256 -r "$1"; else sha256sum "$1"; fi; }
if [ -f "$D" ]; then set -- $(h "$D"); [ "$1" != "$S" ] || { echo have; exit 0; }; fi
mkdir -p "${D%/*}"
t="$D.fetch.$$"
trap 'rm -f "$t"' EXIT
curl -fsS --retry 2 --connect-timeout 10 -o "$t" "$url"
set -- $(h "$t")
[ "$1" = "$S" ] || { echo "sha256 mismatch: fetched $1, want $S" >&2; exit 1; }
chmod 0755 "$t"
mv -f "$t" "$D"
echo fetched`

// FetchArgv downloads the artifact with sha into dst on the host; the command's stdin is the URL.
func FetchArgv(dst, sha string) []string {
	return []string{"sh", "-c", scriptFetch, "plinth-fetch", dst, sha}
}

// publish uploads p's artifact to the store once (pull staging) and returns the bytes sent.
func (e *Executor) publish(ctx context.Context, p *Plan) (int64, error) {
	if e.Store == nil {
		return 0, errors.New("staging pull: no artifact store")
	}
	for _, hs := range p.Stage {
		for _, s := range hs.Steps {
			if s.Kind != StepFetch {
				continue
			}
			t0 := time.Now()
			e.emit(p, Event{Phase: PhaseStage, Step: StepPublish, Status: StatusStart, Total: s.Fetch.Size})
			n, err := e.Store.Put(ctx, s.Fetch.Key, s.Fetch.Local, s.Fetch.Size)
			ev := Event{Phase: PhaseStage, Step: StepPublish, Status: StatusOK, Bytes: n, Total: s.Fetch.Size, Elapsed: Millis(time.Since(t0))}
			if err != nil {
				ev.Status, ev.Message = StatusFail, err.Error()
				e.emit(p, ev)
				return n, fmt.Errorf("publish %s: %w", s.Fetch.Key, err)
			}
			e.emit(p, ev)
			return n, nil // one artifact per plan
		}
	}
	return 0, nil
}

// fetch has h download its artifact from the store with a fresh presigned URL.
func (e *Executor) fetch(ctx context.Context, h inventory.Host, f FetchSpec) error {
	ctx, cancel := e.withStepTimeout(ctx)
	defer cancel()
	url, err := e.Store.PresignGet(ctx, f.Key, PresignTTL)
	if err != nil {
		return fmt.Errorf("presign %s: %w", f.Key, err)
	}
	res, err := e.Runner.Run(ctx, h, Command{Argv: FetchArgv(f.Remote, f.SHA256), Stdin: []byte(url + "\n")})
	if err != nil {
		// The object, not the URL: a presigned URL is a credential for 10 minutes.
		return fmt.Errorf("%s: %w", f.Key, err)
	}
	if out := strings.TrimSpace(string(res.Stdout)); out != "have" && out != "fetched" {
		return fmt.Errorf("%s: unexpected output %q", f.Key, out)
	}
	return nil
}
