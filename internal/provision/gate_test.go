package provision

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckPromotion(t *testing.T) {
	rev := Revision{Commit: "abc123", ConfigHash: "h1"}
	applied := map[string]string{TagCommit: "abc123", TagConfigHash: "h1"}
	cases := []struct {
		name     string
		from     string
		rev      Revision
		tags     map[string]string
		refused  bool
		mentions string
	}{
		{"no gate", "", rev, nil, false, ""},
		{"never applied", "preproduction", rev, nil, true, "never been applied"},
		{"same revision", "preproduction", rev, applied, false, ""},
		{"other commit", "preproduction", Revision{Commit: "def456", ConfigHash: "h1"}, applied, true, "last applied commit abc123"},
		{"other config", "preproduction", Revision{Commit: "abc123", ConfigHash: "h2"}, applied, true, "config h1"},
		{"dirty tree", "preproduction", Revision{Commit: "abc123", ConfigHash: "h1", Dirty: true}, applied, true, "uncommitted"},
		{"dirty preproduction", "preproduction", rev, map[string]string{TagCommit: "abc123-dirty", TagConfigHash: "h1"}, true, "abc123-dirty"},
		{"unknown commit", "preproduction", Revision{ConfigHash: "h1"}, applied, true, "unknown"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := CheckPromotion("production", c.from, c.rev, c.tags)
			if c.refused != (err != nil) || (err != nil && !errors.Is(err, ErrPromotionRefused)) {
				t.Fatalf("got %v, refused want %v", err, c.refused)
			}
			if err != nil && !strings.Contains(err.Error(), c.mentions) {
				t.Errorf("%v does not mention %q", err, c.mentions)
			}
		})
	}
}

func TestConfigHashCoversEveryStack(t *testing.T) {
	a := map[string][]byte{"staging": []byte("x"), "production": []byte("y")}
	b := map[string][]byte{"staging": []byte("x"), "production": []byte("z")}
	c := map[string][]byte{"stagingp": []byte(""), "roduction": []byte("xy")}
	if ConfigHash(a) == ConfigHash(b) || ConfigHash(a) == ConfigHash(c) || ConfigHash(a) != ConfigHash(map[string][]byte{"production": []byte("y"), "staging": []byte("x")}) {
		t.Fatal("config hash does not identify the set of configs")
	}
}

func TestMergeStackSettingsKeepsCLIKeysAndNeverTheRepoSecrets(t *testing.T) {
	repo := []byte("config:\n  plinth:spec:\n    region: eu-west-1\nencryptionsalt: from-repo\n")
	work := []byte("encryptionsalt: v1:abc\nconfig:\n  plinth:spec:\n    region: us-east-1\n")
	got, err := mergeStackSettings(repo, work)
	if err != nil {
		t.Fatal(err)
	}
	s := string(got)
	if !strings.Contains(s, "region: eu-west-1") || !strings.Contains(s, "encryptionsalt: v1:abc") || strings.Contains(s, "from-repo") {
		t.Fatalf("merged:\n%s", s)
	}
	if _, err := mergeStackSettings([]byte("config: [unterminated"), nil); err == nil {
		t.Fatal("bad yaml accepted")
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		msg  string
		want error
	}{
		{"failed\nstderr: error: the stack is currently locked by 1 lock(s)", ErrLocked},
		{"stderr: error: resource urn:x violates plan: properties changed", ErrPlanRefused},
		{"stderr: error: could not deserialize deployment: invalid character 't'", ErrCorruptState},
	}
	for _, c := range cases {
		if err := classify("stack x: up", errors.New(c.msg)); !errors.Is(err, c.want) {
			t.Errorf("%q: got %v", c.msg, err)
		}
	}
	err := classify("stack x: up", errors.New("code: 255\nstderr: error: boom\nerror: boom\n"))
	if err.Error() != "stack x: up: boom" {
		t.Errorf("message %q", err)
	}
}

func TestDrifted(t *testing.T) {
	cases := []struct {
		op       string
		diffs    []string
		want     string
		drifting bool
	}{
		{"same", nil, "", false},
		{"refresh", nil, "", false},
		{"refresh", []string{"tags"}, "update", true},
		{"update", []string{"tags"}, "update", true},
		{"delete", nil, "delete", true},
	}
	for _, c := range cases {
		got, ok := drifted(c.op, c.diffs, false)
		if got != c.want || ok != c.drifting {
			t.Errorf("%s %v: got %q %v", c.op, c.diffs, got, ok)
		}
	}
}
