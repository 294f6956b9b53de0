// Package proctree reads the process tree from /proc: what runs below a process, so that a supervisor or a
// test can stop a process and everything it started, by pid.
package proctree

import (
	"os"
	"sort"
	"strconv"
	"strings"
)

// Descendants lists the processes below pid (children, theirs, ...), sorted.
func Descendants(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pp, ok := Parent(p); ok {
			children[pp] = append(children[pp], p)
		}
	}
	var out []int
	for queue := []int{pid}; len(queue) > 0; queue = queue[1:] {
		for _, c := range children[queue[0]] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	sort.Ints(out)
	return out
}

// Parent reads a process's parent pid from /proc/<pid>/stat (after the last ')': comm may hold spaces).
func Parent(pid int) (int, bool) {
	f, ok := statFields(pid)
	if !ok || len(f) < 2 {
		return 0, false
	}
	pp, err := strconv.Atoi(f[1])
	return pp, err == nil
}

// StartTime reads when pid started (clock ticks since boot, /proc/<pid>/stat field 22): with the pid, it
// names one process even if the pid is reused later.
func StartTime(pid int) (uint64, bool) {
	f, ok := statFields(pid)
	if !ok || len(f) < 20 {
		return 0, false
	}
	t, err := strconv.ParseUint(f[19], 10, 64)
	return t, err == nil
}

// Alive says whether the process pid that started at start still runs (not exited, not a zombie).
func Alive(pid int, start uint64) bool {
	f, ok := statFields(pid)
	if !ok || len(f) < 20 || f[0] == "Z" || f[0] == "X" {
		return false
	}
	t, err := strconv.ParseUint(f[19], 10, 64)
	return err == nil && t == start
}

// statFields are the fields of /proc/<pid>/stat after the command's closing ')': state first.
func statFields(pid int) ([]string, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, false
	}
	return strings.Fields(s[i+1:]), true
}
