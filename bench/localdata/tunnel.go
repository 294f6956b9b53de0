package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/plinth-dev/plinth/internal/cloud"
)

// tunnel is the peers' path to the primary, an operator's: OpenSSH's -L through the published bastion with
// the operator key, the host key checked against the platform's known_hosts. It returns the local port and
// the tunnel's stop.
func (b *benchRun) tunnel(ctx context.Context) (int, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	host, bport, err := net.SplitHostPort(b.st.Bastion)
	if err != nil {
		return 0, nil, fmt.Errorf("bastion %q: %w", b.st.Bastion, err)
	}
	cmd := exec.CommandContext(ctx, "ssh", "-N", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "ExitOnForwardFailure=yes",
		"-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile="+b.st.KnownHosts, "-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "IdentitiesOnly=yes", "-i", b.st.OperatorKey, "-p", bport,
		"-L", fmt.Sprintf("127.0.0.1:%d:%s", port, b.primaryAddr()), b.st.SSHUser+"@"+host)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return 0, nil, fmt.Errorf("ssh tunnel: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Kill() // ours, by pid
		<-exited
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err
			return 0, nil, fmt.Errorf("ssh tunnel through %s exited: %v", b.st.Bastion, err)
		default:
		}
		if c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second); err == nil {
			_ = c.Close()
			return port, stop, nil
		}
		if time.Now().After(deadline) {
			stop()
			return 0, nil, fmt.Errorf("ssh tunnel through %s: port %d not listening after 30 s", b.st.Bastion, port)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// clientConfig writes the peers' option file (0600): the backup user's credentials from the stack's secret
// (the ones plinth reads), the tunnel's port, TLS with the local CA. mariadb-dump reads [client];
// mydumper its own group.
func (b *benchRun) clientConfig(ctx context.Context, port int) (string, error) {
	creds, err := cloud.ReadDBCredentials(ctx, cloud.LocalSecrets{File: b.st.SecretsFile}, cloud.BackupUserSecretID(stack))
	if err != nil {
		return "", fmt.Errorf("backup user of %s: %w", stack, err)
	}
	path := filepath.Join(b.work, "client.cnf")
	common := fmt.Sprintf("user=%s\npassword=%s\nhost=127.0.0.1\nport=%d\n", creds.Username, creds.Password, port)
	body := "[client]\n" + common + "ssl-ca=" + b.st.CAFile + "\n\n[mydumper]\n" + common
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		return "", err
	}
	return path, nil
}
