// Command provision benchmarks the real Pulumi engine against the local cloud: wall time of
// `plinth up --stack production --cloud local` from empty, of a no-change preview, and the per-resource
// overhead (up from empty minus a no-change up, per resource created, measured in the same run). Run with
// `make bench-provision`; it uses bin/plinth and bin/pulumi and a throwaway PLINTH_HOME.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

type result struct {
	Kind    string         `json:"kind"`
	Changes map[string]int `json:"changes"`
}

type run struct {
	wall    time.Duration
	changes map[string]int
}

func main() {
	if err := bench(); err != nil {
		fmt.Fprintln(os.Stderr, "bench-provision:", err)
		os.Exit(1)
	}
}

func bench() error {
	plinth := os.Getenv("PLINTH")
	if plinth == "" {
		plinth = filepath.Join("bin", "plinth")
	}
	home, err := os.MkdirTemp("", "plinth-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(home)
	// PLINTH_LOCAL_LIVE=0: the engine's figures, without the live cloud's hosts (bench/local measures those).
	env := append(os.Environ(), "PLINTH_CLOUD=local", "PULUMI_CONFIG_PASSPHRASE=bench", "PLINTH_LOCAL_LIVE=0",
		"PULUMI_HOME="+filepath.Join(home, "pulumi-home"), "CI=1")
	plinthHome := "PLINTH_HOME=" + filepath.Join(home, "a")
	var extra []string
	do := func(args ...string) (run, error) {
		cmd := exec.Command(plinth, append(args, "--output", "json")...)
		cmd.Env = append(append(append([]string{}, env...), plinthHome), extra...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		start := time.Now()
		out, err := cmd.Output()
		wall := time.Since(start)
		if err != nil {
			return run{}, fmt.Errorf("plinth %v: %w: %s", args, err, stderr.String())
		}
		r := run{wall: wall, changes: map[string]int{}}
		sc := bufio.NewScanner(bytes.NewReader(out))
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			var res result
			if json.Unmarshal(sc.Bytes(), &res) == nil && res.Kind == "result" {
				r.changes = res.Changes
			}
		}
		return r, nil
	}
	staging, err := do("up", "--stack", "staging")
	if err != nil {
		return err
	}
	production, err := do("up", "--stack", "production", "--override-promotion", "benchmark from empty")
	if err != nil {
		return err
	}
	preview, err := do("preview", "--stack", "production")
	if err != nil {
		return err
	}
	noop, err := do("up", "--stack", "production", "--override-promotion", "benchmark no-change up")
	if err != nil {
		return err
	}
	// The same up from empty without the engine's per-step state checkpoints: the share of the wall time
	// spent rewriting the (growing) state file after every step.
	plinthHome, extra = "PLINTH_HOME="+filepath.Join(home, "b"), []string{"PULUMI_SKIP_CHECKPOINTS=true"}
	noCheckpoints, err := do("up", "--stack", "production", "--override-promotion", "benchmark without checkpoints")
	if err != nil {
		return err
	}
	ns, np := staging.changes["create"], production.changes["create"]
	fmt.Printf("%-44s %8s %10s\n", "measure", "seconds", "resources")
	fmt.Printf("%-44s %8.2f %10d\n", "up staging --cloud local (from empty)", staging.wall.Seconds(), ns)
	fmt.Printf("%-44s %8.2f %10d\n", "up production --cloud local (from empty)", production.wall.Seconds(), np)
	fmt.Printf("%-44s %8.2f %10d\n", "preview production (no change)", preview.wall.Seconds(), preview.changes["same"])
	fmt.Printf("%-44s %8.2f %10d\n", "up production (no change)", noop.wall.Seconds(), noop.changes["same"])
	fmt.Printf("%-44s %8.2f %10d\n", "up production from empty, no checkpoints", noCheckpoints.wall.Seconds(), noCheckpoints.changes["create"])
	if np > 0 {
		fmt.Printf("per-resource overhead of a create: %.1f ms ((up from empty - no-change up) / resources)\n",
			(production.wall-noop.wall).Seconds()*1000/float64(np))
		fmt.Printf("wall time per resource, up from empty: %.1f ms\n", production.wall.Seconds()*1000/float64(np))
	}
	fmt.Printf("no-change preview / up from empty: %.2f\n", preview.wall.Seconds()/production.wall.Seconds())
	fmt.Printf("share of up from empty spent checkpointing state: %.0f%%\n",
		100*(1-noCheckpoints.wall.Seconds()/production.wall.Seconds()))
	return nil
}
