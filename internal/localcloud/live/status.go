package live

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/crypto/ssh/knownhosts"
)

// HostStatus is one host as `plinth local status` shows it.
type HostStatus struct {
	Name    string `json:"name"`
	Tier    string `json:"tier"`
	Address string `json:"address"`
	State   string `json:"state"` // running, degraded (sshd or service down), stopped
}

// Status is what runs.
type Status struct {
	URL       string            `json:"url"`
	CAFile    string            `json:"caFile"`
	Bastion   string            `json:"bastion"`
	Hosts     []HostStatus      `json:"hosts"`
	Processes []ProcessInfo     `json:"processes"`
	Published map[string]string `json:"published"`
	// What `plinth deploy --cloud local` reaches the hosts with: the hosts' login user, a known_hosts file
	// naming every host's address and the published bastion (rewritten with each status), the operator's
	// private key (the server's), and HAProxy's runtime API with the target group's backend.
	SSHUser     string `json:"sshUser,omitempty"`
	KnownHosts  string `json:"knownHosts,omitempty"`
	OperatorKey string `json:"operatorKey,omitempty"`
	AdminSocket string `json:"adminSocket,omitempty"`
	Backend     string `json:"backend,omitempty"`
	DataStatus
}

// lbBackend is the HAProxy backend of the target group (RenderHAProxy's).
const lbBackend = "app"

// Status reports the platform.
func (p *Platform) Status() Status {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	data := p.data.Status(ctx) // before p.mu: the tier takes it to find its hosts
	p.mu.Lock()
	defer p.mu.Unlock()
	st := Status{CAFile: p.ca.CAFile, Bastion: p.pub.addr("ssh"), Processes: p.sup.Processes(), Published: map[string]string{},
		DataStatus: data}
	if a := p.pub.addr("https"); a != "" {
		st.URL = "https://" + a
	}
	for _, n := range []string{"https", "http", "ssh"} {
		if a := p.pub.addr(n); a != "" {
			st.Published[n] = a
		}
	}
	for _, name := range sortedKeys(p.hosts) {
		rh := p.hosts[name]
		state := "running"
		if _, ok := p.sup.Running(name + "/anchor"); !ok {
			state = "stopped"
		} else if _, ok := p.sup.Running(name + "/sshd"); rh.spec.SSH && !ok {
			state = "degraded"
		}
		st.Hosts = append(st.Hosts, HostStatus{Name: name, Tier: rh.spec.Tier, Address: rh.spec.Address.String(), State: state})
	}
	st.SSHUser = p.state.SSHUser
	if p.lb != nil {
		st.AdminSocket, st.Backend = p.lb.path("admin.sock"), lbBackend
	}
	if len(p.hosts) > 0 {
		path := filepath.Join(p.dir, "known_hosts")
		if err := writeAtomic(path, []byte(p.knownHosts())); err == nil {
			st.KnownHosts = path
		}
	}
	return st
}

// writeAtomic replaces path with data (0600): a reader sees the old file or the new one.
func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// KnownHosts renders known_hosts lines for every host's address and the published bastion address.
func (p *Platform) KnownHosts() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.knownHosts()
}

func (p *Platform) knownHosts() string {
	var lines []string
	for _, name := range sortedKeys(p.hosts) {
		rh := p.hosts[name]
		if rh.hostKey == nil {
			continue
		}
		addrs := []string{rh.spec.Address.String()}
		if rh.spec.Bastion {
			if a := p.pub.addr("ssh"); a != "" {
				addrs = append(addrs, knownhosts.Normalize(a))
			}
		}
		lines = append(lines, knownhosts.Line(addrs, rh.hostKey))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n") + "\n"
}
