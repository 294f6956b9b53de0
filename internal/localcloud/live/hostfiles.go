package live

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The files a host's private directories hold besides what components/userdata renders: its accounts, the
// AuthorizedKeysCommand serving the published keys, and the systemctl and journalctl the supervisor answers.

// writeAccounts copies this machine's passwd, group and shadow and adds the login user.
func writeAccounts(dir, user string) error {
	entries := map[string]string{
		"passwd": fmt.Sprintf("%s:x:%d:%d:plinth login user:/home/%s:/bin/bash\n", user, userUID, userGID, user),
		"group":  fmt.Sprintf("%s:x:%d:\n", user, userGID),
		// "*" (no password) rather than "!" (locked): sshd refuses locked accounts even for keys.
		"shadow": fmt.Sprintf("%s:*:19000:0:99999:7:::\n", user),
	}
	for name, entry := range entries {
		src, err := os.ReadFile("/etc/" + name)
		if err != nil {
			return err
		}
		var b strings.Builder
		for _, l := range strings.SplitAfter(string(src), "\n") {
			if l != "" && !strings.HasPrefix(l, user+":") {
				b.WriteString(l)
				if !strings.HasSuffix(l, "\n") {
					b.WriteByte('\n')
				}
			}
		}
		b.WriteString(entry)
		mode := os.FileMode(0o644)
		if name == "shadow" {
			mode = 0o600
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), mode); err != nil {
			return err
		}
	}
	return nil
}

// keysDelimiter ends the keys' here-document (State.Validate refuses keys that contain it).
const keysDelimiter = "PLINTH_KEYS"

func authorizedKeysScript(user, keys string) string {
	if keys != "" && !strings.HasSuffix(keys, "\n") {
		keys += "\n"
	}
	return fmt.Sprintf(`#!/bin/sh
# AuthorizedKeysCommand of a plinth live host: the keys the program published (the SSM parameter's value).
[ "$1" = %[1]s ] || exit 0
cat <<'%[3]s'
%[2]s%[3]s
`, shellQuote(user), keys, keysDelimiter)
}

func systemctlShim(dir string) string {
	return fmt.Sprintf(`#!/bin/sh
# systemctl of a plinth live host: asks the live cloud's supervisor to act on a unit it runs.
set -eu
verb=${1:-}; unit=${2:-}
case "$verb" in start|stop|restart|is-active) ;; *) echo "systemctl: $verb: not supported on a plinth live host" >&2; exit 2;; esac
case "$unit" in ""|*[!A-Za-z0-9@._-]*) echo "systemctl: unit '$unit': not a unit name" >&2; exit 2;; esac
reply=%[1]s/replies/$$
rm -f "$reply"; mkfifo -m 0600 "$reply"
trap 'rm -f "$reply"' EXIT
timeout 30 sh -c 'printf "%%s %%s %%s\n" "$1" "$2" "$3" > "$4"' sh "$verb" "$unit" "$reply" %[1]s/ctl
answer=$(timeout 60 cat "$reply")
case "$answer" in ok*) exit 0;; esac
echo "systemctl $verb $unit: ${answer#err }" >&2
exit 3
`, shellQuote(dir))
}

func journalctlShim(dir string) string {
	return fmt.Sprintf(`#!/bin/sh
# journalctl of a plinth live host: the last lines the supervisor logged for a unit.
unit= n=10
while [ $# -gt 0 ]; do
	case "$1" in
	-u) unit=${2:-}; shift 2 ;;
	-n) n=${2:-}; shift 2 ;;
	--no-pager) shift ;;
	*) echo "journalctl: $1: not supported on a plinth live host" >&2; exit 2 ;;
	esac
done
case "$unit" in ""|*[!A-Za-z0-9@._-]*) echo "journalctl: unit '$unit': not a unit name" >&2; exit 2;; esac
case "$n" in ""|*[!0-9]*) echo "journalctl: -n '$n': not a count" >&2; exit 2;; esac
[ -f %[1]s/log/"$unit".log ] || { echo "-- No entries --"; exit 0; }
exec tail -n "$n" %[1]s/log/"$unit".log
`, shellQuote(dir))
}

// shellQuote quotes s for sh.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
