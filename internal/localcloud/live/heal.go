package live

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Replacement is a host the platform replaced because it failed: a new host of the same tier, with a new
// name and a new address in the failed host's subnet (what an auto scaling group does with an unhealthy
// instance). The caller records it (the engine's instance records, the inventory).
type Replacement struct {
	Old, New Host
	Reason   string
}

// Heal replaces every host whose sshd or mount-namespace anchor is no longer running. Hosts without a
// Subnet cannot be given a new address and are reported as errors.
func (p *Platform) Heal(ctx context.Context) ([]Replacement, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Replacement
	var errs []error
	for _, name := range sortedKeys(p.hosts) {
		rh := p.hosts[name]
		reason := p.failure(rh)
		if reason == "" {
			continue
		}
		next, err := p.replacement(rh.spec)
		if err != nil {
			errs = append(errs, fmt.Errorf("heal %s (%s): %w", name, reason, err))
			continue
		}
		if err := p.replace(ctx, rh.spec, next); err != nil {
			errs = append(errs, fmt.Errorf("heal %s (%s): %w", name, reason, err))
			continue
		}
		out = append(out, Replacement{Old: rh.spec, New: next, Reason: reason})
	}
	if len(out) > 0 {
		if err := p.applyFirewalls(ctx); err != nil {
			errs = append(errs, err)
		}
		if err := p.applyEdgeServices(); err != nil {
			errs = append(errs, err)
		}
	}
	return out, errors.Join(errs...)
}

// failure says why a host is unhealthy ("" when it is not).
func (p *Platform) failure(rh *host) string {
	if _, ok := p.sup.Running(rh.spec.Name + "/anchor"); !ok {
		return "its namespace's anchor exited"
	}
	if rh.spec.SSH {
		if _, ok := p.sup.Running(rh.spec.Name + "/sshd"); !ok {
			return "sshd exited"
		}
	}
	return ""
}

// replacement is the failed host's successor: the tier's next free name, the subnet's next free address.
func (p *Platform) replacement(old Host) (Host, error) {
	if !old.Subnet.IsValid() {
		return Host{}, errors.New("no subnet to take a new address from")
	}
	used := map[netip.Addr]bool{}
	names := map[string]bool{}
	highest := 0
	for _, h := range p.state.Hosts {
		used[h.Address], names[h.Name] = true, true
		if h.Tier == old.Tier {
			if i := strings.LastIndexByte(h.Name, '-'); i >= 0 {
				if n, err := strconv.Atoi(h.Name[i+1:]); err == nil && n > highest {
					highest = n
				}
			}
		}
	}
	if p.state.LB != nil {
		used[p.state.LB.Address] = true
	}
	next := old
	next.Name = fmt.Sprintf("%s-%d", old.Tier, highest+1)
	for a, i := old.Subnet.Masked().Addr(), 0; old.Subnet.Contains(a); a, i = a.Next(), i+1 {
		if i >= 10 && !used[a] {
			next.Address = a
			return next, nil
		}
	}
	return Host{}, fmt.Errorf("subnet %s is full", old.Subnet)
}

// replace swaps old for next in the desired state (and the target group), stops old and starts next.
func (p *Platform) replace(ctx context.Context, old, next Host) error {
	for i, h := range p.state.Hosts {
		if h.Name == old.Name {
			p.state.Hosts[i] = next
		}
	}
	if lb := p.state.LB; lb != nil {
		targets := append([]string(nil), lb.Target.Targets...)
		for i, t := range targets {
			if t == old.Name {
				targets[i] = next.Name
			}
		}
		copied := *lb
		copied.Target.Targets = targets
		p.state.LB = &copied
	}
	if err := p.stopHost(old.Name); err != nil {
		return err
	}
	rh, err := p.startHost(ctx, next)
	if rh != nil {
		p.hosts[next.Name] = rh
	}
	return err
}

// Watch heals the platform every interval until ctx ends, handing each replacement to onReplace.
func (p *Platform) Watch(ctx context.Context, interval time.Duration, onReplace func(Replacement), onError func(error)) {
	every(ctx, interval, func() {
		reps, err := p.Heal(ctx)
		for _, r := range reps {
			onReplace(r)
		}
		if err != nil && onError != nil {
			onError(err)
		}
	})
}

// every calls fn each interval until ctx ends.
func every(ctx context.Context, interval time.Duration, fn func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		fn()
	}
}

// KillSSHD kills a host's sshd by its pid, like a crash (tests and drills of self-healing).
func (p *Platform) KillSSHD(host string) error {
	pid, ok := p.sup.Running(host + "/sshd")
	if !ok {
		return fmt.Errorf("host %s: sshd is not running", host)
	}
	return syscall.Kill(pid, syscall.SIGKILL)
}
