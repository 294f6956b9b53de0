// Command local benchmarks the live local cloud (`make bench-local`, run it under flock
// /tmp/plinth-live.lock: it creates network namespaces): for staging and production, from an empty plinth
// home, the wall time of `plinth up --stack S --cloud local` until the published URL answers over verified
// TLS, hosts per second, the whole platform's resident memory (the live server and every process below it),
// and on production a rolling deploy of the sample service to the app tier with the deploy engine through
// the published bastion while a prober counts failed requests through the published 443. Several rounds;
// medians. Each round ends with a destroy that must leave no namespace of the platform.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/plinth-dev/plinth/bench/internal/livehome"
	"github.com/plinth-dev/plinth/internal/localcloud/live"
)

type status struct {
	Stacks []struct {
		Stack   string `json:"stack"`
		URL     string `json:"url"`
		CAFile  string `json:"caFile"`
		Bastion string `json:"bastion"`
		Hosts   []struct {
			Name    string `json:"name"`
			Tier    string `json:"tier"`
			Address string `json:"address"`
			State   string `json:"state"`
		} `json:"hosts"`
	} `json:"stacks"`
}

type round struct {
	up       time.Duration // up until the URL answers
	hosts    int
	rssKiB   int
	requests int // production: through the published 443 during the rolling deploy
	failed   int
	deploy   time.Duration
}

func main() {
	rounds := flag.Int("rounds", 3, "rounds per stack")
	flag.Parse()
	if err := bench(*rounds); err != nil {
		fmt.Fprintln(os.Stderr, "bench-local:", err)
		os.Exit(1)
	}
}

func bench(rounds int) error {
	if err := live.Check(); err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "plinth-bench-local-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	v1, err := buildService(work, "v1")
	if err != nil {
		return err
	}
	v2, err := buildService(work, "v2")
	if err != nil {
		return err
	}
	results := map[string][]round{}
	for i := 0; i < rounds; i++ {
		for _, stack := range []string{"staging", "production"} {
			h, err := livehome.New(filepath.Join(work, fmt.Sprintf("%s-%d", stack, i)))
			if err != nil {
				return err
			}
			r, err := oneRound(h, stack, v1, v2)
			if err != nil {
				return fmt.Errorf("%s round %d: %w", stack, i+1, err)
			}
			fmt.Printf("round %d %-10s up->URL %6.2f s  %2d hosts  %6.2f hosts/s  RSS %5d MiB", i+1, stack, r.up.Seconds(), r.hosts,
				float64(r.hosts)/r.up.Seconds(), r.rssKiB/1024)
			if stack == "production" {
				fmt.Printf("  rolling deploy %5.2f s: %d requests, %d failed", r.deploy.Seconds(), r.requests, r.failed)
			}
			fmt.Println()
			results[stack] = append(results[stack], r)
		}
	}
	fmt.Printf("\nmedians of %d rounds            up->URL (s)  hosts  hosts/s  RSS (MiB)  target\n", rounds)
	for _, stack := range []string{"staging", "production"} {
		rs := results[stack]
		up := median(rs, func(r round) float64 { return r.up.Seconds() })
		rss := median(rs, func(r round) float64 { return float64(r.rssKiB) / 1024 })
		target := "< 30 s, < 512 MiB"
		if stack == "production" {
			target = "< 90 s, < 1536 MiB"
		}
		fmt.Printf("%-32s %10.2f  %5d  %7.2f  %9.0f  %s\n", stack, up, rs[0].hosts, float64(rs[0].hosts)/up, rss, target)
	}
	failed, requests := 0, 0
	for _, r := range results["production"] {
		failed += r.failed
		requests += r.requests
	}
	fmt.Printf("production rolling deploys: %d requests through the published 443, %d failed (target 0); median deploy %.2f s\n",
		requests, failed, median(results["production"], func(r round) float64 { return r.deploy.Seconds() }))
	return nil
}

func oneRound(h livehome.Home, stack, v1, v2 string) (round, error) {
	var r round
	run := h.Run
	destroy := func() error {
		err := h.Destroy(stack)
		if left := namespaces(live.PlatformID(filepath.Join(h.Dir, "live"), stack)); len(left) > 0 {
			err = errors.Join(err, fmt.Errorf("destroy left namespaces %v", left))
		}
		return err
	}
	start := time.Now()
	upArgs := []string{"up", "--stack", stack, "--cloud", "local"}
	if stack == "production" { // from an empty home preproduction was never applied: the promotion gate
		upArgs = append(upArgs, "--override-promotion", "bench-local from empty")
	}
	if _, err := run(upArgs...); err != nil {
		_, _ = run("local", "stop")
		return r, err
	}
	out, err := run("local", "status", "--stack", stack, "-o", "json")
	if err != nil {
		return r, errors.Join(err, destroy())
	}
	var st status
	if err := json.Unmarshal([]byte(out), &st); err != nil || len(st.Stacks) != 1 {
		return r, errors.Join(fmt.Errorf("status: %v: %s", err, out), destroy())
	}
	s := st.Stacks[0]
	client, err := livehome.HTTPSClient(s.CAFile)
	if err != nil {
		return r, errors.Join(err, destroy())
	}
	if err := livehome.Until(60*time.Second, func() bool { // any answer over verified TLS: 503 until a release runs
		resp, err := client.Get(s.URL + "/health")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	}); err != nil {
		return r, errors.Join(fmt.Errorf("%s does not answer: %w", s.URL, err), destroy())
	}
	r.up, r.hosts = time.Since(start), len(s.Hosts)
	mem, err := h.Memory(nil)
	if err != nil {
		return r, errors.Join(err, destroy())
	}
	r.rssKiB = int(mem.RSS >> 10)
	if stack == "production" {
		addrs := map[string]string{}
		for _, h := range s.Hosts {
			addrs[h.Name] = h.Address
		}
		if err := rollingDeploy(&r, h.Dir, stack, s.Bastion, s.URL, client, hostsOf(s.Hosts), addrs, v1, v2); err != nil {
			return r, errors.Join(err, destroy())
		}
	}
	return r, destroy()
}

type appHost struct{ name, address string }

func hostsOf(hosts []struct {
	Name    string `json:"name"`
	Tier    string `json:"tier"`
	Address string `json:"address"`
	State   string `json:"state"`
}) []appHost {
	var out []appHost
	for _, h := range hosts {
		if h.Tier == "app" {
			out = append(out, appHost{h.Name, h.Address})
		}
	}
	return out
}

func namespaces(id string) []string {
	entries, _ := os.ReadDir("/run/netns")
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), live.NamePrefix+id+"-") {
			out = append(out, e.Name())
		}
	}
	return out
}

func median(rs []round, f func(round) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	sort.Float64s(v)
	if len(v) == 0 {
		return 0
	}
	return v[len(v)/2]
}
