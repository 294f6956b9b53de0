#!/bin/sh
# systemctl of a plinth live host: asks the live cloud's supervisor to act on a unit it runs.
set -eu
verb=${1:-}; unit=${2:-}
case "$verb" in start|stop|restart|is-active) ;; *) echo "systemctl: $verb: not supported on a plinth live host" >&2; exit 2;; esac
case "$unit" in ""|*[!A-Za-z0-9@._-]*) echo "systemctl: unit '$unit': not a unit name" >&2; exit 2;; esac
reply='/run/plinth/hosts/app-1'/replies/$$
rm -f "$reply"; mkfifo -m 0600 "$reply"
trap 'rm -f "$reply"' EXIT
timeout 30 sh -c 'printf "%s %s %s\n" "$1" "$2" "$3" > "$4"' sh "$verb" "$unit" "$reply" '/run/plinth/hosts/app-1'/ctl
answer=$(timeout 60 cat "$reply")
case "$answer" in ok*) exit 0;; esac
echo "systemctl $verb $unit: ${answer#err }" >&2
exit 3
