package cloud

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/plinth-dev/plinth/internal/inventory"
	"github.com/plinth-dev/plinth/internal/localcloud/live"
	"github.com/plinth-dev/plinth/internal/provision"
	"github.com/plinth-dev/plinth/internal/sshx"
	"github.com/plinth-dev/plinth/internal/tlsx"
	"github.com/plinth-dev/plinth/stacks/contract"
)

// The local cloud's side of BackupAccess: what the live platform reports of the stack (`plinth local status
// -o json`: its CA, published bastion, SSH access, secrets file and vault) read from the live server of the
// plinth home ($PLINTH_HOME, else the default home).

// liveStack is the part of a stack's live status backup reads.
type liveStack struct {
	Stack       string `json:"stack"`
	CAFile      string `json:"caFile"`
	Bastion     string `json:"bastion"`
	SSHUser     string `json:"sshUser"`
	KnownHosts  string `json:"knownHosts"`
	OperatorKey string `json:"operatorKey"`
	SecretsFile string `json:"secretsFile"`
	Databases   []struct {
		Name    string `json:"name"`
		Role    string `json:"role"`
		Address string `json:"address"`
	} `json:"databases"`
	Vault *struct {
		Bucket     string            `json:"bucket"`
		Endpoint   string            `json:"endpoint"`
		TokenFiles map[string]string `json:"tokenFiles"`
	} `json:"vault"`
}

// liveDir is the live cloud's directory of the plinth home.
func liveDir() (string, error) {
	home := os.Getenv("PLINTH_HOME")
	if home == "" {
		h, err := provision.DefaultHome()
		if err != nil {
			return "", err
		}
		home = h
	}
	return filepath.Join(home, "live"), nil
}

// liveData reads the stack's live status from the server's socket.
func liveData(ctx context.Context, stack string) (liveStack, string, error) {
	dir, err := liveDir()
	if err != nil {
		return liveStack{}, "", err
	}
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", live.SocketPath(dir))
	}}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://live/v1/status", nil)
	if err != nil {
		return liveStack{}, "", err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return liveStack{}, "", fmt.Errorf("stack %s lives in the local cloud, whose live platform does not answer (%w): run `plinth up --stack %s --cloud local` as root, or pass --dsn and --store", stack, ErrNotLive, stack)
	}
	defer resp.Body.Close()
	var rep struct {
		Stacks []liveStack `json:"stacks"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
		return liveStack{}, "", fmt.Errorf("stack %s: live status: %w", stack, err)
	}
	for _, s := range rep.Stacks {
		if s.Stack == stack {
			return s, dir, nil
		}
	}
	return liveStack{}, "", fmt.Errorf("stack %s runs no live platform (%w): run `plinth up --stack %s --cloud local` as root", stack, ErrNotLive, stack)
}

// Secrets is the local cloud's Secrets Manager file the live platform names.
func (LocalCloud) Secrets(ctx context.Context, stack string, _ *contract.Inventory) (SecretStore, error) {
	st, _, err := liveData(ctx, stack)
	if err != nil {
		return nil, err
	}
	if st.SecretsFile == "" {
		return nil, fmt.Errorf("stack %s: the live platform names no secrets file", stack)
	}
	return LocalSecrets{File: st.SecretsFile}, nil
}

// Database reaches the live primary through the published bastion (SSH direct-tcpip with the operator key,
// host keys checked against the platform's known_hosts), TLS verified with the local CA.
func (LocalCloud) Database(ctx context.Context, stack string, inv *contract.Inventory) (DatabaseConn, error) {
	st, dir, err := liveData(ctx, stack)
	if err != nil {
		return DatabaseConn{}, err
	}
	return liveDatabase(stack, st, dir, inv)
}

func liveDatabase(stack string, st liveStack, dir string, inv *contract.Inventory) (DatabaseConn, error) {
	addr := ""
	for _, d := range st.Databases {
		if d.Role == live.RolePrimary {
			addr = net.JoinHostPort(d.Address, "3306")
		}
	}
	if addr == "" {
		return DatabaseConn{}, fmt.Errorf("stack %s: the live platform runs no primary database", stack)
	}
	pool, err := tlsx.CAPool(st.CAFile)
	if err != nil {
		return DatabaseConn{}, fmt.Errorf("stack %s: local CA: %w", stack, err)
	}
	user, key := st.SSHUser, st.OperatorKey
	if user == "" && inv != nil {
		user = inv.Bastion.SSHUser
	}
	if key == "" {
		key = filepath.Join(dir, "operator_ed25519")
	}
	if st.Bastion == "" || st.KnownHosts == "" || user == "" {
		return DatabaseConn{}, fmt.Errorf("stack %s: the live platform publishes no bastion with its known_hosts and login user", stack)
	}
	conn := DatabaseConn{Addr: addr, TLS: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	conn.Dial, conn.Close, err = BastionDialer(st.Bastion, user, key, st.KnownHosts)
	return conn, err
}

// BastionDialer opens TCP connections from the bastion (SSH direct-tcpip), as `ssh -J` would: bastion is
// host:port, keyFile the private key, knownHosts the file its host key is checked against.
func BastionDialer(bastion, user, keyFile, knownHosts string) (func(ctx context.Context, addr string) (net.Conn, error), func() error, error) {
	r, err := sshx.New(sshx.Config{KnownHosts: []string{knownHosts}, IdentityFiles: []string{keyFile}})
	if err != nil {
		return nil, nil, fmt.Errorf("bastion %s: %w", bastion, err)
	}
	h := inventory.Host{Name: "bastion", Address: bastion, User: user}
	return func(ctx context.Context, addr string) (net.Conn, error) { return r.DialContext(ctx, h, "tcp", addr) }, r.Close, nil
}

// BackupStoreAs is the live vault as identity: gs://<bucket>?prefix=<stack>/ with its endpoint, the local
// CA and the identity's token file.
func (LocalCloud) BackupStoreAs(ctx context.Context, stack string, _ *contract.Inventory, identity string) (string, error) {
	st, _, err := liveData(ctx, stack)
	if err != nil {
		return "", err
	}
	return liveStore(stack, st, identity)
}

func liveStore(stack string, st liveStack, identity string) (string, error) {
	if st.Vault == nil || st.Vault.Endpoint == "" {
		return "", fmt.Errorf("stack %s: the live platform serves no vault", stack)
	}
	tok := st.Vault.TokenFiles[identity]
	if tok == "" {
		return "", errors.New("stack " + stack + ": the live vault has no " + identity + " identity")
	}
	q := url.Values{"prefix": {stack + "/"}, "endpoint": {st.Vault.Endpoint}, "ca_file": {st.CAFile}, "token_file": {tok}}
	return "gs://" + st.Vault.Bucket + "?" + q.Encode(), nil
}
