#!/bin/sh
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
[ -f '/run/plinth/hosts/app-1'/log/"$unit".log ] || { echo "-- No entries --"; exit 0; }
exec tail -n "$n" '/run/plinth/hosts/app-1'/log/"$unit".log
