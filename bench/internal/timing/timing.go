// Package timing runs the benchmarks' measured commands: a shell pipeline's wall time, a process's wall time
// and peak resident memory (rusage), and the median of rounds.
package timing

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Shell runs script with bash -o pipefail (its stderr to ours) and returns its wall time.
func Shell(ctx context.Context, script string) (time.Duration, error) {
	cmd := exec.CommandContext(ctx, "bash", "-o", "pipefail", "-c", script)
	cmd.Stderr = os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("%s: %w", script, err)
	}
	return time.Since(start), nil
}

// Measure runs bin with args and env (nil: ours) and returns its wall time, peak RSS (rusage maxrss, bytes)
// and combined output.
func Measure(ctx context.Context, env []string, bin string, args ...string) (time.Duration, int64, string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	var rss int64
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss = ru.Maxrss << 10
		}
	}
	return d, rss, out.String(), err
}

// Median is the middle value of v (the upper one of an even count; 0 when empty). v is not modified.
func Median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}
