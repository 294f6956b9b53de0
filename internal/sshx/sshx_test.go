package sshx_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/deploy"
	"github.com/plinth-dev/plinth/internal/deploy/deploytest"
	"github.com/plinth-dev/plinth/internal/inventory"
	"github.com/plinth-dev/plinth/internal/sshx"
	"github.com/plinth-dev/plinth/internal/sshx/sshdtest"
)

var httpClient = &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

func TestRunnerConformanceThroughBastion(t *testing.T) {
	c := newCluster(t, 1)
	deploytest.RunnerSuite(t, func(t *testing.T) (deploy.Runner, inventory.Host) {
		h := c.inv.Tiers["app"].Hosts[0]
		h.Root = t.TempDir()
		return c.runner(t), h
	})
}

// Direct connections (no bastion), over every upload path a host can take: acknowledged by perl (the
// default), or streamed to cat/zstd when pacing is off (hosts without perl take that path too).
func TestRunnerConformanceDirect(t *testing.T) {
	c := newCluster(t, 1)
	for _, cfg := range []sshx.Config{
		{Compress: "zstd"},                     // zstd through perl
		{Compress: "none"},                     // raw, paced
		{Compress: "none", UploadWindow: -1},   // raw, cat
		{Compress: "zstd", UploadWindow: -1},   // zstd -d
		{Compress: "zstd", UploadWindow: 4096}, // zstd through perl, a small window
	} {
		t.Run(fmt.Sprintf("%s window %d", cfg.Compress, cfg.UploadWindow), func(t *testing.T) {
			deploytest.RunnerSuite(t, func(t *testing.T) (deploy.Runner, inventory.Host) {
				cfg.KnownHosts, cfg.IdentityFiles = []string{c.known}, []string{c.keys.PrivatePath}
				r, err := sshx.New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = r.Close() })
				h := c.inv.Tiers["app"].Hosts[0]
				h.Root = t.TempDir()
				return r, h
			})
		})
	}
}

func TestUnknownHostKeyIsRefused(t *testing.T) {
	c := newCluster(t, 1)
	// known_hosts lists the bastion only.
	sshdtest.WriteKnownHosts(t, c.known, c.bastion)
	r := c.runner(t)
	_, err := r.Run(context.Background(), c.inv.Tiers["app"].Hosts[0], deploy.Command{Argv: []string{"true"}})
	if err == nil || !strings.Contains(err.Error(), "is unknown") {
		t.Fatalf("unknown host key: %v", err)
	}
	// Connecting ahead (what a session does while it takes the lock) verifies the key the same way.
	if err := r.Connect(context.Background(), c.inv.Tiers["app"].Hosts[0]); err == nil || !strings.Contains(err.Error(), "is unknown") {
		t.Fatalf("connect ahead to an unknown host key: %v", err)
	}
	// The bastion itself is fine.
	if err := r.Connect(context.Background(), c.inv.Bastion.Host); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(context.Background(), c.inv.Bastion.Host, deploy.Command{Argv: []string{"true"}}); err != nil {
		t.Fatal(err)
	}
}

func TestChangedHostKeyIsRefused(t *testing.T) {
	c := newCluster(t, 1)
	// Another server's key recorded for app-1's address: a changed key (or a man in the middle).
	other := sshdtest.Start(t, "impostor", sshdtest.Options{Authorized: c.keys.Authorized})
	line := strings.Replace(other.KnownHostsLine(), "["+"127.0.0.1]:"+portOf(other.Addr), "[127.0.0.1]:"+portOf(c.hosts[0].Addr), 1)
	if err := os.WriteFile(c.known, []byte(c.bastion.KnownHostsLine()+"\n"+line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := c.runner(t)
	_, err := r.Run(context.Background(), c.inv.Tiers["app"].Hosts[0], deploy.Command{Argv: []string{"true"}})
	if err == nil || !strings.Contains(err.Error(), "has CHANGED") {
		t.Fatalf("changed host key: %v", err)
	}
}

func portOf(addr string) string { return addr[strings.LastIndexByte(addr, ':')+1:] }

func TestNoKnownHostsIsAnError(t *testing.T) {
	dir := t.TempDir()
	keys := sshdtest.NewKeys(t, dir)
	if _, err := sshx.New(sshx.Config{IdentityFiles: []string{keys.PrivatePath}}); err == nil {
		t.Fatal("a runner without known_hosts was built")
	}
}

func TestOneConnectionPerHost(t *testing.T) {
	c := newCluster(t, 1)
	r := c.runner(t)
	h := c.inv.Tiers["app"].Hosts[0]
	// $SSH_CONNECTION names the client's source port: the same for every command on one connection.
	var first string
	for i := 0; i < 5; i++ {
		res, err := r.Run(context.Background(), h, deploy.Command{Argv: []string{"sh", "-c", `echo "$SSH_CONNECTION"`}})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = string(res.Stdout)
		} else if string(res.Stdout) != first {
			t.Fatalf("command %d on another connection: %q vs %q", i, res.Stdout, first)
		}
	}
}

func TestShellJoin(t *testing.T) {
	got := sshx.ShellJoin([]string{"sh", "-c", `echo "$1"`, "x", "it's", "", "/a/b-c_d.e"})
	want := `sh -c 'echo "$1"' x 'it'\''s' '' /a/b-c_d.e`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}
