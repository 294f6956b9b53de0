// Package platmem measures a live platform's memory: the live server and every process below it (by pid
// tree, /proc), each counted as the kind of the supervised process it runs under (sshd, mariadbd,
// redis-server, haproxy, a service's unit, ...), with VmRSS (the target's measure: shared pages counted in
// every process) and PSS (shared pages split between their users: what the platform really costs).
package platmem

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/plinth-dev/plinth/internal/proctree"
)

// LiveServer is the kind of the tree's root: the live server (engine hook, supervisor, vault emulator).
const LiveServer = "live server"

// Process is one process of the tree.
type Process struct {
	Pid  int
	Comm string
	// Kind is what it runs as: the supervised name's last part ("app-1/sshd": sshd), LiveServer for the
	// root, its command name when nothing supervised is above it.
	Kind     string
	RSS, PSS int64 // bytes
}

// Kind is the processes of one kind.
type Kind struct {
	Name      string
	Processes int
	RSS, PSS  int64
}

// Breakdown is the tree's memory, by kind (largest RSS first), and its totals.
type Breakdown struct {
	Processes []Process
	Kinds     []Kind
	RSS, PSS  int64
}

// Measure reads root and every process below it. supervised maps the pids the live server started to their
// names ("host/kind"); a process below one of them is that kind.
func Measure(root int, supervised map[int]string) (Breakdown, error) {
	if _, err := os.Stat("/proc/" + strconv.Itoa(root)); err != nil {
		return Breakdown{}, fmt.Errorf("process %d: %w", root, err)
	}
	var procs []Process
	for _, pid := range append([]int{root}, proctree.Descendants(root)...) {
		status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
		if err != nil {
			continue // gone meanwhile
		}
		p := Process{Pid: pid, Kind: kindOf(pid, root, supervised)}
		p.Comm, p.RSS = parseStatus(string(status))
		if p.Kind == "" {
			p.Kind = p.Comm
		}
		if smaps, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/smaps_rollup"); err == nil {
			p.PSS = parsePss(string(smaps))
		}
		procs = append(procs, p)
	}
	return Group(procs), nil
}

// kindOf walks from pid up to root and names the first supervised process met ("" when none).
func kindOf(pid, root int, supervised map[int]string) string {
	for p, hops := pid, 0; hops < 64; hops++ {
		if p == root {
			return LiveServer
		}
		if name, ok := supervised[p]; ok {
			return name[strings.LastIndexByte(name, '/')+1:]
		}
		pp, ok := proctree.Parent(p)
		if !ok || pp <= 1 {
			return ""
		}
		p = pp
	}
	return ""
}

// Group sums procs by kind: kinds by RSS, largest first (then by name).
func Group(procs []Process) Breakdown {
	b := Breakdown{Processes: procs}
	idx := map[string]int{}
	for _, p := range procs {
		i, ok := idx[p.Kind]
		if !ok {
			i = len(b.Kinds)
			idx[p.Kind] = i
			b.Kinds = append(b.Kinds, Kind{Name: p.Kind})
		}
		k := &b.Kinds[i]
		k.Processes++
		k.RSS += p.RSS
		k.PSS += p.PSS
		b.RSS += p.RSS
		b.PSS += p.PSS
	}
	sort.Slice(b.Kinds, func(i, j int) bool {
		if b.Kinds[i].RSS != b.Kinds[j].RSS {
			return b.Kinds[i].RSS > b.Kinds[j].RSS
		}
		return b.Kinds[i].Name < b.Kinds[j].Name
	})
	return b
}

// parseStatus reads Name and VmRSS (bytes) of /proc/<pid>/status.
func parseStatus(s string) (comm string, rss int64) {
	for _, l := range strings.Split(s, "\n") {
		if v, ok := strings.CutPrefix(l, "Name:"); ok {
			comm = strings.TrimSpace(v)
		} else if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			rss = kB(v)
		}
	}
	return comm, rss
}

// parsePss reads Pss (bytes) of /proc/<pid>/smaps_rollup.
func parsePss(s string) int64 {
	for _, l := range strings.Split(s, "\n") {
		if v, ok := strings.CutPrefix(l, "Pss:"); ok {
			return kB(v)
		}
	}
	return 0
}

func kB(v string) int64 {
	n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
	if err != nil {
		return 0
	}
	return n << 10
}

// Print writes the breakdown: one line per kind, then the totals.
func (b Breakdown) Print(w io.Writer, indent string) {
	fmt.Fprintf(w, "%s%-22s %5s %9s %9s\n", indent, "kind", "procs", "RSS MiB", "PSS MiB")
	for _, k := range b.Kinds {
		fmt.Fprintf(w, "%s%-22s %5d %9.1f %9.1f\n", indent, k.Name, k.Processes, mib(k.RSS), mib(k.PSS))
	}
	fmt.Fprintf(w, "%s%-22s %5d %9.1f %9.1f\n", indent, "total", len(b.Processes), mib(b.RSS), mib(b.PSS))
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// MiB is n bytes in MiB.
func MiB(n int64) float64 { return mib(n) }
