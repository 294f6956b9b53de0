package deploy_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/internal/deploy"
)

var sha = strings.Repeat("c", 64)

func listing(t *testing.T, s string) deploy.Listing {
	t.Helper()
	l, err := deploy.ParseListing([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestParseListingOrdersOldestFirst(t *testing.T) {
	l := listing(t, "current releases/v2\nrelease v3 "+sha+" 300\nrelease v1 "+sha+" 100\nrelease broken\nrelease v2 "+sha+" 200\n")
	var got []string
	for _, r := range l.Releases {
		got = append(got, r.Version)
	}
	if l.Current != "v2" || !reflect.DeepEqual(got, []string{"broken", "v1", "v2", "v3"}) {
		t.Fatalf("current %q releases %v", l.Current, got)
	}
	for _, bad := range []string{"garbage line\n", "release ../../etc\n", "release v1\nrelease v1\n"} {
		if _, err := deploy.ParseListing([]byte(bad)); err == nil {
			t.Fatalf("accepted %q", bad)
		}
	}
}

func TestPruneSet(t *testing.T) {
	cases := []struct {
		name    string
		listing string
		keep    int
		protect string
		want    []string
	}{
		{"keeps the newest K", "current releases/v4\nrelease v1 " + sha + " 1\nrelease v2 " + sha + " 2\nrelease v3 " + sha + " 3\nrelease v4 " + sha + " 4\n", 2, "v4", []string{"v1", "v2"}},
		{"never the current one, even old", "current releases/v1\nrelease v1 " + sha + " 1\nrelease v2 " + sha + " 2\nrelease v3 " + sha + " 3\n", 1, "v3", []string{"v2"}},
		{"incomplete leftovers go", "current releases/v2\nrelease v1 " + sha + " 1\nrelease v2 " + sha + " 2\nrelease half\n", 5, "v2", []string{"half"}},
		{"nothing to do", "current releases/v1\nrelease v1 " + sha + " 1\n", 5, "v1", nil},
		{"keep 0 is 1", "current releases/v2\nrelease v1 " + sha + " 1\nrelease v2 " + sha + " 2\n", 0, "v2", []string{"v1"}},
	}
	for _, c := range cases {
		got := deploy.PruneSet(listing(t, c.listing), c.keep, c.protect)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %v want %v", c.name, got, c.want)
		}
	}
}

func TestRollbackTargetNeverIncomplete(t *testing.T) {
	l := listing(t, "current releases/v3\nrelease v1 "+sha+" 1\nrelease v2 "+sha+" 2\nrelease v3 "+sha+" 3\nrelease v2.5\nrelease v4 "+sha+" 4\n")
	if got, err := deploy.RollbackTarget(l, ""); err != nil || got != "v2" {
		t.Fatalf("got %q %v, want v2 (newest complete older than current)", got, err)
	}
	if got, err := deploy.RollbackTarget(l, "v1"); err != nil || got != "v1" {
		t.Fatalf("explicit: %q %v", got, err)
	}
	if _, err := deploy.RollbackTarget(l, "v2.5"); err == nil {
		t.Fatal("rolled back to an incomplete release")
	}
	if _, err := deploy.RollbackTarget(l, "v9"); err == nil {
		t.Fatal("rolled back to a missing release")
	}
	only := listing(t, "current releases/v1\nrelease v1 "+sha+" 1\nrelease v2\n")
	if _, err := deploy.RollbackTarget(only, ""); !errors.Is(err, deploy.ErrNoRollbackTarget) {
		t.Fatalf("got %v", err)
	}
}

// FuzzParseListing: the listing comes from a host; whatever it prints must not panic the parser, and the
// pure decisions taken from it never pick the current release for deletion nor an incomplete rollback target.
func FuzzParseListing(f *testing.F) {
	f.Add([]byte("current releases/v2\nrelease v1 " + sha + " 100\nrelease v2 " + sha + " 200\nrelease half\n"))
	f.Add([]byte("current \nrelease x\n"))
	f.Add([]byte("release v1 " + sha + " -5\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := deploy.ParseListing(data)
		if err != nil {
			return
		}
		for _, v := range deploy.PruneSet(l, 2, "") {
			if v == l.Current && l.Current != "" {
				t.Fatalf("prune would delete the current release %q", v)
			}
		}
		if target, err := deploy.RollbackTarget(l, ""); err == nil {
			for _, r := range l.Releases {
				if r.Version == target && !r.Complete {
					t.Fatalf("rollback to incomplete %q", target)
				}
			}
		}
	})
}
