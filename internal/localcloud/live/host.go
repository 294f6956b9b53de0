package live

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/plinth-dev/plinth/components/userdata"
)

// The login user's ids inside every host (its own /etc/passwd; nothing is added to this machine's).
const (
	userUID = 2000
	userGID = 2000
)

// localCommands are where sudo finds the host's systemctl and journalctl: /usr/local/sbin, the first
// directory of Debian's secure_path, is the host's own sbin directory.
var localCommands = userdata.Commands{Systemctl: "/usr/local/sbin/systemctl", Journalctl: "/usr/local/sbin/journalctl"}

// host is a running host: its namespaces, private directories and processes (named <host>/<part> in the
// supervisor).
type host struct {
	spec    Host
	ns      string
	dir     string
	anchor  int // pid of the process holding the mount namespace
	hostKey ssh.PublicKey
	ctl     *os.File
	// serviceCmd builds the service's command (nil without a service).
	serviceCmd func() (*exec.Cmd, error)
	// backup runs the backup units (nil without them: backupunits.go).
	backup *hostBackup
}

// privateMounts are the host's private directories: what each bind-mounts over inside its mount namespace.
var privateMounts = [][2]string{
	{"etc/passwd", "/etc/passwd"},
	{"etc/group", "/etc/group"},
	{"etc/shadow", "/etc/shadow"},
	{"sbin", "/usr/local/sbin"},
	{"sudoers.d", userdata.SudoersDir},
	{"default", userdata.EnvironmentDir},
	{"srv", "/srv"},
	{"home", "/home"},
	{"bin", "/usr/local/bin"},
}

// startHost creates the host's directories and namespaces and starts its anchor, sshd and service.
func (p *Platform) startHost(ctx context.Context, h Host) (*host, error) {
	rh := &host{spec: h, ns: p.nsName(h.Name), dir: filepath.Join(p.dir, "hosts", h.Name)}
	if err := rh.writeFiles(p.state); err != nil {
		return nil, fmt.Errorf("host %s: %w", h.Name, err)
	}
	if h.Service != nil { // the unit's environment file (appenv.go)
		if err := p.writeAppFiles(rh); err != nil {
			return nil, fmt.Errorf("host %s: %w", h.Name, err)
		}
	}
	if err := p.writeBackupFiles(rh); err != nil {
		return nil, fmt.Errorf("host %s: %w", h.Name, err)
	}
	if err := createNetns(rh.ns); err != nil {
		return nil, fmt.Errorf("host %s: %w", h.Name, err)
	}
	routes := append(p.edgeRoutes(h.Public), p.vaultRoutes(h)...)
	if err := attach(rh.ns, p.bridgeName(h.VPC), []netip.Prefix{p.hostPrefix(h.VPC, h.Address)}, routes); err != nil {
		return rh, fmt.Errorf("host %s: %w", h.Name, err)
	}
	if err := p.startAnchor(rh); err != nil {
		return rh, err
	}
	if err := p.serveControl(rh); err != nil {
		return rh, err
	}
	if h.SSH {
		if err := p.startSSHD(ctx, rh); err != nil {
			return rh, err
		}
	}
	if h.Service != nil {
		if err := p.startService(rh); err != nil {
			return rh, err
		}
	}
	if h.Backup != nil {
		p.startBackupUnits(rh)
	}
	return rh, nil
}

func (rh *host) path(rel string) string { return filepath.Join(rh.dir, rel) }

// writeFiles lays out the host's private directories.
func (rh *host) writeFiles(s State) error {
	h := rh.spec
	for _, d := range []string{"etc", "sbin", "sudoers.d", "default", "srv", "home", "ssh", "log", "replies", "bin"} {
		if err := os.MkdirAll(rh.path(d), 0o755); err != nil {
			return err
		}
	}
	if err := os.Chmod(rh.dir, 0o755); err != nil {
		return err
	}
	if err := writeAccounts(rh.path("etc"), s.SSHUser); err != nil {
		return err
	}
	user := s.SSHUser
	for _, d := range []string{"home/" + user, "srv/plinth"} {
		if err := os.MkdirAll(rh.path(d), 0o750); err != nil {
			return err
		}
		if err := os.Chown(rh.path(d), userUID, userGID); err != nil {
			return err
		}
	}
	files := map[string]string{
		"sbin/plinth-authorized-keys": authorizedKeysScript(user, s.AuthorizedKeys),
		"sbin/systemctl":              systemctlShim(rh.dir),
		"sbin/journalctl":             journalctlShim(rh.dir),
	}
	if h.Service != nil {
		sudoers, err := userdata.Sudoers(*h.Service, localCommands)
		if err != nil {
			return err
		}
		files["sudoers.d/"+filepath.Base(h.Service.SudoersFile())] = sudoers
		root := "srv/" + strings.TrimPrefix(h.Service.Root(), "/srv/")
		if err := os.MkdirAll(rh.path(root), 0o750); err != nil {
			return err
		}
		if err := os.Chown(rh.path(root), userUID, userGID); err != nil {
			return err
		}
	}
	for rel, content := range files {
		mode := os.FileMode(0o755)
		if strings.HasPrefix(rel, "sudoers.d/") {
			mode = 0o440
		}
		if err := os.WriteFile(rh.path(rel), []byte(content), mode); err != nil {
			return err
		}
		if err := os.Chmod(rh.path(rel), mode); err != nil {
			return err
		}
	}
	if h.SSH {
		return rh.writeSSHD(user)
	}
	return nil
}

func (rh *host) writeSSHD(user string) error {
	signer, err := rh.hostKeySigner() // a restarted host keeps its key (known_hosts stay valid)
	if err != nil {
		return err
	}
	rh.hostKey = signer.PublicKey()
	port := 0
	if rh.spec.Service != nil {
		port = rh.spec.Service.Port
	}
	rendered, err := userdata.SSHDConfig(userdata.SSHD{User: user, Bastion: rh.spec.Bastion, ServicePort: port})
	if err != nil {
		return err
	}
	cfg := fmt.Sprintf(`# plinth live host %s (generated: internal/localcloud/live/host.go): the host's own lines, then the
# configuration components/userdata renders for the EC2 instances too.
Port 22
HostKey %s
PidFile %s
Subsystem sftp internal-sftp
%s`, rh.spec.Name, rh.path("ssh/ssh_host_ed25519_key"), rh.path("ssh/sshd.pid"), rendered)
	return os.WriteFile(rh.path("ssh/sshd_config"), []byte(cfg), 0o600)
}

// startAnchor starts the process that holds the host's mount namespace, with its private directories
// mounted, inside the host's network namespace; every other process of the host joins both.
func (p *Platform) startAnchor(rh *host) error {
	ready := rh.path("ready")
	_ = os.Remove(ready)
	var script strings.Builder
	script.WriteString("set -e\n")
	for _, m := range privateMounts {
		fmt.Fprintf(&script, "mount --bind %s %s\n", shellQuote(rh.path(m[0])), m[1])
	}
	if rh.spec.Backup != nil && p.opts.PlinthBinary != "" {
		fmt.Fprintf(&script, "mount --bind %s %s\nmount -o remount,bind,ro %s\n", shellQuote(p.opts.PlinthBinary),
			userdata.PlinthBinary, userdata.PlinthBinary)
	}
	fmt.Fprintf(&script, ": > %s\nexec sleep infinity\n", shellQuote(ready))
	log, err := os.OpenFile(rh.path("log/anchor.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("host %s: %w", rh.spec.Name, err)
	}
	defer log.Close()
	pid, err := p.sup.Start(rh.spec.Name+"/anchor", false, func() (*exec.Cmd, error) {
		cmd := exec.Command(nsenterBin, "--net="+netnsDir+"/"+rh.ns, "--",
			unshareBin, "--mount", "--propagation", "private", "--", "/bin/sh", "-c", script.String())
		cmd.Stdout, cmd.Stderr = log, log
		return cmd, nil
	})
	if err != nil {
		return fmt.Errorf("host %s: %w", rh.spec.Name, err)
	}
	rh.anchor = pid
	err = waitFor(10*time.Second, func() (bool, error) {
		if _, ok := p.sup.Running(rh.spec.Name + "/anchor"); !ok {
			out, _ := os.ReadFile(rh.path("log/anchor.log"))
			return false, fmt.Errorf("exited: %s", strings.TrimSpace(string(out)))
		}
		_, err := os.Stat(ready)
		return err == nil, nil
	})
	if err != nil {
		return fmt.Errorf("host %s: mount namespace: %w", rh.spec.Name, err)
	}
	return nil
}

// enter is the argv prefix running a command in the host's namespaces.
func (rh *host) enter(extra ...string) []string {
	argv := []string{nsenterBin, "--target", strconv.Itoa(rh.anchor), "--net", "--mount"}
	return append(append(argv, extra...), "--")
}

func (p *Platform) startSSHD(ctx context.Context, rh *host) error {
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil { // sshd's privilege separation directory
		return fmt.Errorf("host %s: %w", rh.spec.Name, err)
	}
	log, err := os.OpenFile(rh.path("log/sshd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("host %s: %w", rh.spec.Name, err)
	}
	defer log.Close()
	name := rh.spec.Name + "/sshd"
	if _, err := p.sup.Start(name, false, func() (*exec.Cmd, error) {
		argv := append(rh.enter(), sshdBin, "-D", "-e", "-f", rh.path("ssh/sshd_config"))
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Stdout, cmd.Stderr = log, log
		return cmd, nil
	}); err != nil {
		return fmt.Errorf("host %s: %w", rh.spec.Name, err)
	}
	addr := net.JoinHostPort(rh.spec.Address.String(), "22")
	err = waitFor(10*time.Second, func() (bool, error) {
		if _, ok := p.sup.Running(name); !ok {
			out, _ := os.ReadFile(rh.path("log/sshd.log"))
			return false, fmt.Errorf("exited: %s", strings.TrimSpace(string(out)))
		}
		c, err := DialFrom(ctx, rh.ns, netip.Addr{}, addr, time.Second)
		if err != nil {
			return false, nil
		}
		_ = c.Close()
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("host %s: sshd: %w", rh.spec.Name, err)
	}
	return nil
}

// startService registers the tier's unit with the supervisor and starts it when a release is current
// (systemd's ConditionPathExists on ExecStart).
func (p *Platform) startService(rh *host) error {
	s := *rh.spec.Service
	rh.serviceCmd = func() (*exec.Cmd, error) {
		// As systemd: the environment files read at each start (the secrets resolved first: appenv.go).
		env, err := p.serviceEnv(rh, s)
		if err != nil {
			return nil, err
		}
		log, err := os.OpenFile(rh.path("log/"+s.Unit()+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, err
		}
		// env changes directory inside the mount namespace (nsenter's --wd resolves it outside).
		argv := append(rh.enter("--setuid", strconv.Itoa(userUID), "--setgid", strconv.Itoa(userGID)),
			"/usr/bin/env", "--chdir="+s.Root(), s.ExecStart())
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env, cmd.Stdout, cmd.Stderr = env, log, log
		return cmd, nil
	}
	if !rh.hasRelease() {
		return nil
	}
	if _, err := p.sup.Start(rh.spec.Name+"/"+s.Unit(), true, rh.serviceCmd); err != nil {
		return fmt.Errorf("host %s: %w", rh.spec.Name, err)
	}
	return nil
}

// hasRelease says whether the service's ExecStart exists on the host.
func (rh *host) hasRelease() bool {
	s := rh.spec.Service
	_, err := os.Stat(rh.path("srv/" + strings.TrimPrefix(s.ExecStart(), "/srv/")))
	return err == nil
}

// serveControl answers the host's systemctl: lines "<verb> <unit> <reply fifo>" on the ctl fifo.
func (p *Platform) serveControl(rh *host) error {
	path := rh.path("ctl")
	_ = os.Remove(path)
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		return fmt.Errorf("host %s: control fifo: %w", rh.spec.Name, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0) // read-write: never sees EOF while the host lives
	if err != nil {
		return fmt.Errorf("host %s: control fifo: %w", rh.spec.Name, err)
	}
	rh.ctl = f
	go func() {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) != 3 || !strings.HasPrefix(fields[2], rh.path("replies")+"/") {
				continue
			}
			answer := "ok"
			if err := p.control(rh, fields[0], fields[1]); err != nil {
				answer = "err " + err.Error()
			}
			reply(fields[2], answer)
		}
	}()
	return nil
}

func reply(path, answer string) {
	for i := 0; i < 50; i++ {
		w, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		if err == nil {
			_, _ = w.WriteString(answer + "\n")
			_ = w.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// control carries out one systemctl request for the host's service unit.
func (p *Platform) control(rh *host, verb, unit string) error {
	if handled, err := p.backupControl(rh, verb, unit); handled {
		return err
	}
	s := rh.spec.Service
	if s == nil || unit != s.Unit() {
		return fmt.Errorf("unit %s not found", unit)
	}
	name := rh.spec.Name + "/" + unit
	switch verb {
	case "is-active":
		if _, ok := p.sup.Running(name); !ok {
			return errors.New("inactive")
		}
		return nil
	case "stop":
		return p.sup.Stop(name, 10*time.Second)
	case "start", "restart":
		if err := p.sup.Forget(name, 10*time.Second); err != nil {
			return err
		}
		if !rh.hasRelease() {
			return nil // ConditionPathExists: nothing to run yet
		}
		_, err := p.sup.Start(name, true, rh.serviceCmd)
		return err
	}
	return fmt.Errorf("%s: not supported", verb)
}

// waitFor polls cond until it is true, fails, or timeout passes.
func waitFor(timeout time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s", timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// hostKeySigner is the host's ed25519 host key: the one it had (a host started again after `plinth local
// stop`), else a new one.
func (rh *host) hostKeySigner() (ssh.Signer, error) {
	path := rh.path("ssh/ssh_host_ed25519_key")
	if b, err := os.ReadFile(path); err == nil {
		if signer, err := ssh.ParsePrivateKey(b); err == nil {
			return signer, nil
		}
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, err
	}
	return ssh.NewSignerFromKey(priv)
}
