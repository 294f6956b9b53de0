package deploybench

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTick is the unit of /proc/<pid>/stat's times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// cpuMeter adds up the CPU time one side's round costs, on whatever core and however loaded the machine:
// the bench process (plinth's client runs in it) and its exited children (scp, ssh), and every process
// under the roots — each host's sshd listener (its connections, sessions, shells, receivers and hashers,
// the ones already reaped included, through their parents' cutime/cstime) and the peer's ControlMaster
// processes. On a 2-core machine shared with other work, wall-clock medians drift by tens of percent;
// CPU time per round is what one side makes the machine do, and it does not drift with the load.
type cpuMeter struct {
	roots []int
}

// sample is the total so far; a round's cost is the difference of two samples.
func (m *cpuMeter) sample() time.Duration {
	var self, children syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children)
	total := tv(self.Utime) + tv(self.Stime) + tv(children.Utime) + tv(children.Stime)
	stats := procStats()
	kids := map[int][]int{}
	for pid, st := range stats {
		kids[st.ppid] = append(kids[st.ppid], pid)
	}
	seen := map[int]bool{}
	var walk func(pid int)
	walk = func(pid int) {
		if seen[pid] {
			return
		}
		seen[pid] = true
		if st, ok := stats[pid]; ok {
			total += st.ticks * clockTick
		}
		for _, k := range kids[pid] {
			walk(k)
		}
	}
	for _, r := range m.roots {
		if r > 0 {
			walk(r)
		}
	}
	return total
}

func tv(t syscall.Timeval) time.Duration {
	return time.Duration(t.Sec)*time.Second + time.Duration(t.Usec)*time.Microsecond
}

type procStat struct {
	ppid  int
	ticks time.Duration // utime + stime + cutime + cstime
}

// procStats reads every process's parent and CPU times from /proc (processes that exit meanwhile are
// skipped: their time is in their parent's cutime/cstime once reaped).
func procStats() map[int]procStat {
	out := map[int]procStat{}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:]) // state ppid ... utime(11) stime(12) cutime(13) cstime(14)
		if len(f) < 15 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		var ticks int64
		for _, k := range f[11:15] {
			v, _ := strconv.ParseInt(k, 10, 64)
			ticks += v
		}
		out[pid] = procStat{ppid: ppid, ticks: time.Duration(ticks)}
	}
	return out
}

// stealTime is the machine's steal time so far (/proc/stat's cpu line, 8th value: time a virtual CPU was
// ready to run while the hypervisor ran something else), 0 where the kernel does not report it.
func stealTime() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	v, err := strconv.ParseInt(f[8], 10, 64)
	if err != nil {
		return 0
	}
	return time.Duration(v) * clockTick
}
