package deploybench

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/plinth-dev/plinth/internal/deploy/deploytest"
	"github.com/plinth-dev/plinth/internal/sshx/sshdtest"
)

// scpLoop is what plinth replaces: for each host in turn, scp the binary, then ssh to swap it in and
// restart the service.
func scpLoop(b *testing.B, hosts []*sshdtest.Server, key, known, artifact string, ports []int) {
	b.Helper()
	opts := []string{"-i", key, "-o", "UserKnownHostsFile=" + known, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes"}
	for i, s := range hosts {
		root := s.Root + "-scp"
		port := strconv.Itoa(s.Port)
		scp := exec.Command("scp", append(append([]string{"-q", "-P", port}, opts...), artifact, "root@127.0.0.1:"+s.Root+"-app.new")...)
		if out, err := scp.CombinedOutput(); err != nil {
			b.Fatalf("scp %s: %v\n%s", s.Name, err, out)
		}
		remote := fmt.Sprintf("mkdir -p %s/current && mv %s-app.new %s/current/app && sh %s %s %d", root, s.Root, root, deploytest.RestartScript(), root, ports[i])
		ssh := exec.Command("ssh", append(append([]string{"-p", port}, opts...), "root@127.0.0.1", remote)...)
		if out, err := ssh.CombinedOutput(); err != nil {
			b.Fatalf("ssh %s: %v\n%s", s.Name, err, out)
		}
	}
}

// masters are OpenSSH ControlMaster connections, one per host, opened before the timed runs: what a
// shell-savvy SRE keeps open so that every later scp and ssh skips the handshake.
type masters struct {
	opts  []string
	socks []string
	pids  []int // the master processes (ssh -O check), whose CPU the peer's rounds cost
}

func openMasters(b *testing.B, hosts []*sshdtest.Server, key, known string) *masters {
	b.Helper()
	dir := b.TempDir()
	m := &masters{opts: []string{"-i", key, "-o", "UserKnownHostsFile=" + known, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes"}}
	for i, s := range hosts {
		sock := filepath.Join(dir, "cm-"+strconv.Itoa(i))
		args := append([]string{"-M", "-S", sock, "-o", "ControlPersist=yes", "-fN", "-p", strconv.Itoa(s.Port)}, m.opts...)
		if out, err := exec.Command("ssh", append(args, "root@127.0.0.1")...).CombinedOutput(); err != nil {
			b.Fatalf("ssh master %s: %v\n%s", s.Name, err, out)
		}
		m.socks = append(m.socks, sock)
		out, _ := exec.Command("ssh", "-S", sock, "-O", "check", "root@127.0.0.1").CombinedOutput()
		if _, rest, ok := strings.Cut(string(out), "(pid="); ok {
			if pid, err := strconv.Atoi(strings.TrimSuffix(strings.Fields(rest)[0], ")")); err == nil {
				m.pids = append(m.pids, pid)
			}
		}
		b.Cleanup(func() { _ = exec.Command("ssh", "-S", sock, "-O", "exit", "root@127.0.0.1").Run() })
	}
	return m
}

// parallelScp is the stronger peer: every host at once, scp then ssh restart, each over its host's
// ControlMaster connection. No health checks, no lock, no audit, no verification: it does less than plinth.
func parallelScp(b *testing.B, hosts []*sshdtest.Server, m *masters, artifact string, ports []int) {
	b.Helper()
	var wg sync.WaitGroup
	errs := make([]error, len(hosts))
	for i, s := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			root := s.Root + "-pscp"
			port := strconv.Itoa(s.Port)
			opts := append([]string{"-o", "ControlPath=" + m.socks[i]}, m.opts...)
			scp := exec.Command("scp", append(append([]string{"-q", "-P", port}, opts...), artifact, "root@127.0.0.1:"+root+"-app.new")...)
			if out, err := scp.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("scp %s: %v\n%s", s.Name, err, out)
				return
			}
			remote := fmt.Sprintf("mkdir -p %s/current && mv %s-app.new %s/current/app && sh %s %s %d", root, root, root, deploytest.RestartScript(), root, ports[i])
			ssh := exec.Command("ssh", append(append([]string{"-p", port}, opts...), "root@127.0.0.1", remote)...)
			if out, err := ssh.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("ssh %s: %v\n%s", s.Name, err, out)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
}
