package live

import (
	"context"
	"errors"
	"sync"
)

// startConcurrency bounds how many hosts start at once: each start is mostly waiting (the anchor's mounts,
// sshd answering), but a 2-core machine gains little past a few.
const startConcurrency = 4

// startHosts starts every host of hosts the platform does not run yet, at most startConcurrency at a time,
// and records each one that got far enough to need stopping (even when its start failed). Called with p.mu
// held; startHost only reads the platform's state.
func (p *Platform) startHosts(ctx context.Context, hosts []Host) error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, startConcurrency)
	)
	started := map[string]*host{}
	for _, h := range hosts {
		if _, ok := p.hosts[h.Name]; ok {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(h Host) {
			defer func() { <-sem; wg.Done() }()
			rh, err := p.startHost(ctx, h)
			mu.Lock()
			defer mu.Unlock()
			if rh != nil {
				started[h.Name] = rh
			}
			if err != nil {
				errs = append(errs, err)
			}
		}(h)
	}
	wg.Wait()
	for name, rh := range started {
		p.hosts[name] = rh
	}
	return errors.Join(errs...)
}
