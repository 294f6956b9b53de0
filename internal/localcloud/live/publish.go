package live

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// publisher listens on 127.0.0.1 ports and forwards each connection from the edge namespace (the internet,
// or the admins' network for SSH) to a target inside the platform: the operator reaches the platform only as
// the internet and the admins do.
type publisher struct {
	edgeNS string
	mu     sync.Mutex
	ports  map[string]*published // by name: https, http, ssh
	wg     sync.WaitGroup
}

type published struct {
	ln     net.Listener
	from   netip.Addr // the edge address the connection comes from
	target string     // addr:port inside the platform
	conns  map[net.Conn]struct{}
}

func newPublisher(edgeNS string) *publisher {
	return &publisher{edgeNS: edgeNS, ports: map[string]*published{}}
}

// listen reserves 127.0.0.1:port (0: any free port) for name; the target is set by route.
func (pb *publisher) listen(name string, port int) error {
	pb.mu.Lock()
	defer pb.mu.Unlock()
	if _, ok := pb.ports[name]; ok {
		return nil
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil && port != 0 && errors.Is(err, syscall.EADDRINUSE) {
		// The port this stack had (its allocation) is taken by something else now: any free port.
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		return fmt.Errorf("publish %s: %w", name, err)
	}
	p := &published{ln: ln, conns: map[net.Conn]struct{}{}}
	pb.ports[name] = p
	pb.wg.Add(1)
	go pb.serve(name, p)
	return nil
}

// route points name at target, from the edge address from.
func (pb *publisher) route(name string, from netip.Addr, target string) {
	pb.mu.Lock()
	defer pb.mu.Unlock()
	if p, ok := pb.ports[name]; ok {
		p.from, p.target = from, target
	}
}

// addr is the published address of name ("" when not published).
func (pb *publisher) addr(name string) string {
	pb.mu.Lock()
	defer pb.mu.Unlock()
	if p, ok := pb.ports[name]; ok {
		return p.ln.Addr().String()
	}
	return ""
}

func (pb *publisher) httpsOrigin() string {
	if a := pb.addr("https"); a != "" {
		return "https://" + a
	}
	return "https://localhost"
}

func (pb *publisher) serve(name string, p *published) {
	defer pb.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		pb.mu.Lock()
		from, target := p.from, p.target
		p.conns[c] = struct{}{}
		pb.mu.Unlock()
		pb.wg.Add(1)
		go func() {
			defer pb.wg.Done()
			defer func() {
				pb.mu.Lock()
				delete(p.conns, c)
				pb.mu.Unlock()
				_ = c.Close()
			}()
			if target == "" {
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			up, err := DialFrom(ctx, pb.edgeNS, from, target, 10*time.Second)
			cancel()
			if err != nil {
				return
			}
			pb.mu.Lock()
			p.conns[up] = struct{}{}
			pb.mu.Unlock()
			defer func() {
				pb.mu.Lock()
				delete(p.conns, up)
				pb.mu.Unlock()
				_ = up.Close()
			}()
			splice(c, up)
		}()
	}
}

// splice copies both ways until either side is done.
func splice(a, b net.Conn) {
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go cp(a, b)
	go cp(b, a)
	<-done
	<-done
}

// unpublish closes name's listener and connections; one not published is not an error.
func (pb *publisher) unpublish(name string) error {
	pb.mu.Lock()
	p, ok := pb.ports[name]
	if ok {
		delete(pb.ports, name)
		for c := range p.conns {
			_ = c.Close()
		}
	}
	pb.mu.Unlock()
	if !ok {
		return nil
	}
	if err := p.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("publish %s: %w", name, err)
	}
	return nil
}

// close stops every listener and connection and waits for them.
func (pb *publisher) close() error {
	pb.mu.Lock()
	var errs []error
	for name, p := range pb.ports {
		if err := p.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, fmt.Errorf("publish %s: %w", name, err))
		}
		for c := range p.conns {
			_ = c.Close()
		}
	}
	pb.ports = map[string]*published{}
	pb.mu.Unlock()
	pb.wg.Wait()
	return errors.Join(errs...)
}
