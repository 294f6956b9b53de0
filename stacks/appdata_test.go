package stacks

import (
	"encoding/base64"
	"strings"
	"testing"
)

// TestAppUserDataNamesTheDataTier: in every stack the app tier's user data names the writer, a reader (a
// replica where the stack has one), the cache's primary and the two secrets' ids, and holds no secret value;
// the worker's and sftp's do not.
func TestAppUserDataNamesTheDataTier(t *testing.T) {
	for _, stack := range allStacks {
		res := evaluate(t, stack)
		for _, lt := range res.ByType("aws:ec2/launchTemplate:LaunchTemplate") {
			ud, err := base64.StdEncoding.DecodeString(lt.Inputs["userData"].(string))
			if err != nil {
				t.Fatalf("%s %s: %v", stack, lt.Name, err)
			}
			script := string(ud)
			isApp := strings.HasSuffix(lt.Name, "-app-lt")
			if has := strings.Contains(script, "PLINTH_DB_WRITER="); has != isApp {
				t.Errorf("%s %s: names the data tier: %v", stack, lt.Name, has)
			}
			if !isApp {
				continue
			}
			for _, want := range []string{"PLINTH_DB_READER=", "PLINTH_CACHE_ADDR=", ":6379\n", "PLINTH_DB_SECRET_ID=plinth/" + stack + "/db-app-user\n",
				"PLINTH_CACHE_TOKEN_SECRET_ID=", "ExecStartPre=+/usr/local/sbin/plinth-app-secrets"} {
				if !strings.Contains(script, want) {
					t.Errorf("%s %s: user data lacks %q", stack, lt.Name, want)
				}
			}
			if strings.Contains(script, "PLINTH_DB_PASSWORD=") || strings.Contains(script, "PLINTH_CACHE_TOKEN=") {
				t.Errorf("%s %s: user data sets a secret value", stack, lt.Name)
			}
			w, r := envValue(script, "PLINTH_DB_WRITER"), envValue(script, "PLINTH_DB_READER")
			if replicas := stack != "staging"; (w != r) != replicas {
				t.Errorf("%s: writer %s, reader %s (replicas: %v)", stack, w, r, replicas)
			}
			t.Logf("%s: writer %s, reader %s, cache %s", stack, w, r, envValue(script, "PLINTH_CACHE_ADDR"))
		}
	}
}

func envValue(script, key string) string {
	for _, l := range strings.Split(script, "\n") {
		if v, ok := strings.CutPrefix(l, key+"="); ok {
			return v
		}
	}
	return ""
}
