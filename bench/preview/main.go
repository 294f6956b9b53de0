// Command preview measures the warm wall time of `plinth preview --offline` for each stack (the issue's
// target: under 2 s for production) and prints, last, `preview_production_s=<median> target_s=2 headroom=<x>`.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"time"
)

func main() {
	plinth := flag.String("plinth", "bin/plinth", "plinth binary")
	runs := flag.Int("runs", 10, "timed runs per stack (after one warm-up)")
	flag.Parse()
	var prod time.Duration
	for _, stack := range []string{"staging", "preproduction", "production"} {
		median, err := measure(*plinth, stack, *runs)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("%-14s median %6.3fs over %d runs\n", stack, median.Seconds(), *runs)
		if stack == "production" {
			prod = median
		}
	}
	fmt.Printf("preview_production_s=%.3f target_s=2 headroom=%.1fx\n", prod.Seconds(), 2/prod.Seconds())
}

func measure(plinth, stack string, runs int) (time.Duration, error) {
	var times []time.Duration
	for i := 0; i <= runs; i++ {
		cmd := exec.Command(plinth, "preview", "--offline", "--stack", stack, "--output", "json")
		cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
		start := time.Now()
		if err := cmd.Run(); err != nil {
			return 0, fmt.Errorf("preview %s: %w", stack, err)
		}
		if i > 0 { // the first run warms the page cache
			times = append(times, time.Since(start))
		}
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	return times[len(times)/2], nil
}
