package platmem

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	comm, rss := parseStatus("Name:\tmariadbd\nUmask:\t0022\nVmRSS:\t   65736 kB\nRssAnon:\t 1 kB\n")
	if comm != "mariadbd" || rss != 65736<<10 {
		t.Fatalf("parseStatus = %q %d", comm, rss)
	}
	if pss := parsePss("55d0-7ffe ---p 00000000 00:00 0 [rollup]\nRss:  2000 kB\nPss:   1234 kB\nPss_Dirty: 3 kB\n"); pss != 1234<<10 {
		t.Fatalf("parsePss = %d", pss)
	}
	if _, rss := parseStatus("Name:\tzombie\n"); rss != 0 {
		t.Fatalf("no VmRSS (a kernel thread, a zombie): %d", rss)
	}
}

func TestGroup(t *testing.T) {
	b := Group([]Process{
		{Pid: 1, Kind: LiveServer, RSS: 50, PSS: 40},
		{Pid: 2, Kind: "sshd", RSS: 10, PSS: 5},
		{Pid: 3, Kind: "sshd", RSS: 10, PSS: 5},
		{Pid: 4, Kind: "mariadbd", RSS: 70, PSS: 70},
		{Pid: 5, Kind: "haproxy", RSS: 20, PSS: 20},
	})
	var got []string
	for _, k := range b.Kinds {
		got = append(got, k.Name)
	}
	if strings.Join(got, ",") != "mariadbd,live server,haproxy,sshd" || b.RSS != 160 || b.PSS != 140 {
		t.Fatalf("kinds %v, RSS %d PSS %d", got, b.RSS, b.PSS)
	}
	if k := b.Kinds[3]; k.Processes != 2 || k.RSS != 20 || k.PSS != 10 {
		t.Fatalf("sshd: %+v", k)
	}
	var out bytes.Buffer
	b.Print(&out, "  ")
	if !strings.Contains(out.String(), "  total                      5") {
		t.Fatalf("Print:\n%s", out.String())
	}
}

// TestMeasure measures this test's own tree: a supervised sh whose child sleep counts as the sh's kind.
func TestMeasure(t *testing.T) {
	cmd := exec.Command("sh", "-c", "sleep 30 & wait")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	var b Breakdown
	deadline := time.Now().Add(5 * time.Second)
	for {
		var err error
		if b, err = Measure(os.Getpid(), map[int]string{cmd.Process.Pid: "host-1/worker"}); err != nil {
			t.Fatal(err)
		}
		if len(b.Processes) >= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	kinds := map[string]Kind{}
	for _, k := range b.Kinds {
		kinds[k.Name] = k
	}
	if k := kinds["worker"]; k.Processes != 2 || k.RSS <= 0 {
		t.Fatalf("worker (sh and its sleep): %+v; all %+v", k, b.Kinds)
	}
	if k := kinds[LiveServer]; k.Processes != 1 || k.RSS <= 0 || k.PSS <= 0 {
		t.Fatalf("root: %+v", k)
	}
	if b.RSS < kinds["worker"].RSS+kinds[LiveServer].RSS {
		t.Fatalf("total %d below its parts", b.RSS)
	}
	if _, err := Measure(1<<30, nil); err == nil {
		t.Fatal("Measure of a missing pid: no error")
	}
}
