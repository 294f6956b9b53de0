package timing

import (
	"context"
	"strings"
	"testing"
)

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 3}} {
		orig := append([]float64(nil), c.in...)
		if got := Median(c.in); got != c.want {
			t.Errorf("Median(%v) = %v, want %v", c.in, got, c.want)
		}
		for i := range orig {
			if orig[i] != c.in[i] {
				t.Fatalf("Median modified its input: %v", c.in)
			}
		}
	}
}

func TestMeasureAndShell(t *testing.T) {
	ctx := context.Background()
	d, rss, out, err := Measure(ctx, nil, "sh", "-c", "echo hello; echo err >&2")
	if err != nil || d <= 0 || rss <= 0 || !strings.Contains(out, "hello") || !strings.Contains(out, "err") {
		t.Fatalf("Measure: d=%v rss=%d out=%q err=%v", d, rss, out, err)
	}
	if _, _, _, err := Measure(ctx, nil, "sh", "-c", "exit 3"); err == nil {
		t.Fatal("Measure of a failing command: no error")
	}
	if _, err := Shell(ctx, "false | cat"); err == nil {
		t.Fatal("Shell: pipefail not set")
	}
	if d, err := Shell(ctx, "true"); err != nil || d <= 0 {
		t.Fatalf("Shell(true) = %v, %v", d, err)
	}
}
