package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/plinth-dev/plinth/bench/internal/livehome"
	"github.com/plinth-dev/plinth/bench/internal/platmem"
	"github.com/plinth-dev/plinth/internal/localcloud/live"
)

// benchRun is one run: its plinth home, the binaries, the production platform's status.
type benchRun struct {
	o      options
	h      livehome.Home
	work   string
	fresh  bool // the home was made here: removed at the end
	upDone bool
	st     live.StackStatus
}

func newBench(o options) (*benchRun, error) {
	b := &benchRun{o: o}
	dir := o.home
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "plinth-bench-local-data-"); err != nil {
			return nil, err
		}
		b.fresh = true
	}
	var err error
	if b.h, err = livehome.New(dir); err != nil {
		return nil, err
	}
	b.work = filepath.Join(b.h.Dir, "bench")
	if err := os.MkdirAll(b.work, 0o700); err != nil {
		return nil, err
	}
	return b, nil
}

// up brings production up unless the home's live server already runs it, deploys the sample service to
// the app tier and waits until the published URL serves it; then grants the backup user.
func (b *benchRun) up() error {
	if err := b.status(); err != nil {
		start := time.Now()
		// From an empty home preproduction was never applied: the promotion gate.
		if _, err := b.h.Run("up", "--stack", stack, "--cloud", "local", "--override-promotion", "bench-local-data from empty"); err != nil {
			return err
		}
		b.upDone = true
		fmt.Printf("plinth up --stack %s --cloud local: %.1f s\n", stack, time.Since(start).Seconds())
		if err := b.status(); err != nil {
			return err
		}
	} else {
		fmt.Printf("reusing %s's live %s\n", b.h.Dir, stack)
		b.upDone = true
	}
	svc := filepath.Join(b.work, "webservice")
	cmd := exec.Command("go", "build", "-ldflags", "-X main.version=bench", "-o", svc, "./examples/webservice")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build webservice: %v: %s", err, out)
	}
	start := time.Now()
	if _, err := b.h.Run("deploy", "--stack", stack, "--cloud", "local", "-t", "app", "-a", svc, "--version", "bench",
		"-i", b.st.OperatorKey, "--known-hosts", b.st.KnownHosts, "--no-agent", "-m", "bench-local-data"); err != nil {
		return err
	}
	client, err := livehome.HTTPSClient(b.st.CAFile)
	if err != nil {
		return err
	}
	if err := livehome.Until(60*time.Second, func() bool {
		resp, err := client.Get(b.st.URL + "/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}); err != nil {
		return fmt.Errorf("%s/health does not answer 200 after the deploy: %w", b.st.URL, err)
	}
	fmt.Printf("plinth deploy of the sample service to the app tier: %.1f s, %s/health answers 200\n", time.Since(start).Seconds(), b.st.URL)
	if _, err := b.h.Run("backup", "grant", "--stack", stack, "--cloud", "local"); err != nil {
		return err
	}
	return nil
}

// status reads production's live status from the home's live server.
func (b *benchRun) status() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := live.NewClient(live.SocketPath(filepath.Join(b.h.Dir, "live"))).Status(ctx)
	if err != nil {
		return fmt.Errorf("live server of %s: %w", b.h.Dir, err)
	}
	for _, s := range rep.Stacks {
		if s.Stack == stack {
			b.st = s
			return nil
		}
	}
	return fmt.Errorf("the live server of %s runs no %s", b.h.Dir, stack)
}

// memory measures the live server's process tree, each process as the kind it is supervised as.
func (b *benchRun) memory() (platmem.Breakdown, error) {
	if err := b.status(); err != nil {
		return platmem.Breakdown{}, err
	}
	supervised := map[int]string{}
	for _, p := range b.st.Processes {
		if p.Running {
			supervised[p.Pid] = p.Name
		}
	}
	return b.h.Memory(supervised)
}

// close destroys production (unless -keep) and removes a home made here.
func (b *benchRun) close() error {
	if b.o.keep {
		fmt.Printf("kept: PLINTH_HOME=%s\n", b.h.Dir)
		return nil
	}
	var err error
	if b.upDone {
		err = b.h.Destroy(stack)
	}
	if b.fresh && err == nil {
		err = os.RemoveAll(b.h.Dir)
	}
	return err
}

// byServer lists the RSS of each process of kind by the host it is supervised on ("host 12.3, ...").
func (b *benchRun) byServer(bd platmem.Breakdown, kind string) string {
	names := map[int]string{}
	for _, p := range b.st.Processes {
		names[p.Pid] = p.Name
	}
	var out []string
	for _, p := range bd.Processes {
		if name, ok := names[p.Pid]; ok && p.Kind == kind {
			out = append(out, fmt.Sprintf("%s %.1f", strings.TrimSuffix(name, "/"+kind), platmem.MiB(p.RSS)))
		}
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}
