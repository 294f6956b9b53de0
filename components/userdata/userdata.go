// Package userdata renders the pieces every host runs, whatever cloud it runs in: the key-only sshd
// configuration, the tier's service unit and environment file, and the narrowly scoped sudoers rule the deploy
// engine relies on. The EC2 boot script (components/tier) and the live local cloud
// (internal/localcloud/live) both render them here, so there is never a second copy. Pure: no I/O.
package userdata

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Paths shared by EC2 instances and local hosts.
const (
	// AuthorizedKeysCommand prints the admins' public keys (sshd's AuthorizedKeysCommand).
	AuthorizedKeysCommand = "/usr/local/sbin/plinth-authorized-keys"
	// SSHDConfigPath is the drop-in the EC2 boot script writes (included by the distribution's sshd_config).
	SSHDConfigPath = "/etc/ssh/sshd_config.d/10-plinth.conf"
	// ReleaseBase holds each tier's release root: <ReleaseBase>/<tier>/releases, current.
	ReleaseBase = "/srv/plinth"
	// LogDir holds the services' own log files.
	LogDir = "/var/log/plinth"
	// SudoersDir holds the rule files.
	SudoersDir = "/etc/sudoers.d"
	// EnvironmentDir holds the services' environment files.
	EnvironmentDir = "/etc/default"
)

// Bastion forwarding: only SSH and MySQL inside the VPC.
var bastionPermitOpen = []string{"*:22", "*:3306"}

// SSHD parameterises the sshd configuration.
type SSHD struct {
	// User is the only login user.
	User string
	// Bastion allows TCP forwarding (ProxyJump) to ports 22 and 3306 only.
	Bastion bool
	// ServicePort, on an instance tier, allows local forwarding to 127.0.0.1:ServicePort only: the deploy
	// engine checks the service's health from the host itself through its SSH connection.
	ServicePort int
}

var nameRE = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)

func (s SSHD) validate() error {
	if !nameRE.MatchString(s.User) {
		return fmt.Errorf("sshd: user %q: want a POSIX user name", s.User)
	}
	if s.ServicePort < 0 || s.ServicePort > 65535 {
		return fmt.Errorf("sshd: service port %d out of range", s.ServicePort)
	}
	return nil
}

// SSHDConfig renders the key-only sshd configuration: public keys only (from AuthorizedKeysCommand, never a
// file on the host), one user, no root, no agent/X11/tunnels, forwarding only where the tier needs it.
func SSHDConfig(s SSHD) (string, error) {
	if err := s.validate(); err != nil {
		return "", err
	}
	var b strings.Builder
	for _, l := range [][2]string{
		{"PasswordAuthentication", "no"},
		{"KbdInteractiveAuthentication", "no"},
		{"PermitRootLogin", "no"},
		{"PubkeyAuthentication", "yes"},
		{"AuthenticationMethods", "publickey"},
		{"AllowUsers", s.User},
		{"AuthorizedKeysFile", "none"},
		{"AuthorizedKeysCommand", AuthorizedKeysCommand + " %u"},
		{"AuthorizedKeysCommandUser", "nobody"},
	} {
		fmt.Fprintf(&b, "%s %s\n", l[0], l[1])
	}
	switch {
	case s.Bastion:
		fmt.Fprintf(&b, "AllowTcpForwarding yes\nPermitOpen %s\n", strings.Join(bastionPermitOpen, " "))
	case s.ServicePort > 0:
		fmt.Fprintf(&b, "AllowTcpForwarding local\nPermitOpen 127.0.0.1:%d\n", s.ServicePort)
	default:
		b.WriteString("AllowTcpForwarding no\n")
	}
	b.WriteString(`GatewayPorts no
AllowAgentForwarding no
X11Forwarding no
PermitTunnel no
MaxAuthTries 3
LoginGraceTime 20
ClientAliveInterval 300
ClientAliveCountMax 2
LogLevel VERBOSE
`)
	return b.String(), nil
}

// Service is a tier's long-running service as the deploy engine expects it: a unit plinth-<tier>.service
// running <root>/current/<binary> as the login user.
type Service struct {
	Tier   string
	User   string
	Binary string // default: the tier name
	Port   int
}

// Validate names the field at fault.
func (s Service) Validate() error {
	if !nameRE.MatchString(s.Tier) {
		return fmt.Errorf("service: tier %q: want a lower-case name", s.Tier)
	}
	if !nameRE.MatchString(s.User) {
		return fmt.Errorf("service %s: user %q: want a POSIX user name", s.Tier, s.User)
	}
	if b := s.binary(); strings.ContainsAny(b, "/ \t\n") || b == "" {
		return fmt.Errorf("service %s: binary %q: want a plain file name", s.Tier, b)
	}
	if s.Port < 1 || s.Port > 65535 {
		return fmt.Errorf("service %s: port %d out of range", s.Tier, s.Port)
	}
	return nil
}

func (s Service) binary() string {
	if s.Binary == "" {
		return s.Tier
	}
	return s.Binary
}

// Unit is the systemd unit's name (the deploy engine's default {service}).
func (s Service) Unit() string { return "plinth-" + s.Tier + ".service" }

// Root is the tier's release root.
func (s Service) Root() string { return ReleaseBase + "/" + s.Tier }

// ExecStart is the binary the unit runs: the current release's.
func (s Service) ExecStart() string { return s.Root() + "/current/" + s.binary() }

// EnvironmentFile is the unit's environment file.
func (s Service) EnvironmentFile() string { return EnvironmentDir + "/plinth-" + s.Tier }

// Environment is the service's environment, in order: the tier, its port and the address to listen on.
func (s Service) Environment() [][2]string {
	return [][2]string{
		{"PLINTH_TIER", s.Tier},
		{"PORT", strconv.Itoa(s.Port)},
		{"ADDR", "0.0.0.0:" + strconv.Itoa(s.Port)},
	}
}

// EnvironmentFileContent renders the environment file (KEY=VALUE lines, systemd's format).
func EnvironmentFileContent(s Service) (string, error) {
	if err := s.Validate(); err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# plinth %s service environment (generated: components/userdata)\n", s.Tier)
	for _, kv := range s.Environment() {
		fmt.Fprintf(&b, "%s=%s\n", kv[0], kv[1])
	}
	return b.String(), nil
}

// ServiceUnit renders the systemd unit.
func ServiceUnit(s Service) (string, error) {
	if err := s.Validate(); err != nil {
		return "", err
	}
	return fmt.Sprintf(`[Unit]
Description=plinth %[1]s service
After=network-online.target
Wants=network-online.target
ConditionPathExists=%[2]s

[Service]
Type=simple
User=%[3]s
Group=%[3]s
EnvironmentFile=%[4]s
WorkingDirectory=%[5]s
ExecStart=%[2]s
Restart=always
RestartSec=1
NoNewPrivileges=yes
ProtectSystem=full
PrivateTmp=yes
StandardOutput=journal
StandardError=journal

[Install]
WantedBy=multi-user.target
`, s.Tier, s.ExecStart(), s.User, s.EnvironmentFile(), s.Root()), nil
}

// Commands are the absolute paths sudo resolves the deploy engine's commands to.
type Commands struct {
	Systemctl  string
	Journalctl string
}

// EC2Commands are Amazon Linux's.
var EC2Commands = Commands{Systemctl: "/usr/bin/systemctl", Journalctl: "/usr/bin/journalctl"}

// SudoersFile is the rule file's path.
func (s Service) SudoersFile() string { return SudoersDir + "/plinth-" + s.Tier }

// Sudoers renders the narrowly scoped rule: the login user may restart this tier's unit and read its last
// 20 log lines (the deploy engine's default restart and logs commands), as root, without a password, and
// nothing else.
func Sudoers(s Service, c Commands) (string, error) {
	if err := s.Validate(); err != nil {
		return "", err
	}
	for _, p := range []string{c.Systemctl, c.Journalctl} {
		if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, " \t\n,:=\\") {
			return "", fmt.Errorf("sudoers %s: command %q: want an absolute path", s.Tier, p)
		}
	}
	u := s.Unit()
	return fmt.Sprintf(`# plinth %[1]s: the deploy engine's restart and logs commands (generated: components/userdata)
Defaults:%[2]s !requiretty
%[2]s ALL=(root) NOPASSWD: %[3]s restart %[4]s, %[5]s -u %[4]s -n 20 --no-pager
`, s.Tier, s.User, c.Systemctl, u, c.Journalctl), nil
}
