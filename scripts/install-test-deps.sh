#!/usr/bin/env bash
# Installs the real servers plinth's tests run against: MariaDB (backup/restore), OpenSSH's sshd (deploys),
# HAProxy (load balancer drain), Redis (the live cloud's cache), Graphviz (`plinth graph` renders SVG with
# dot), mariadb-binlog (point-in-time replay), mydumper (backup benchmark peer), the live local cloud's
# nftables, iproute2 and sudo, and moto's server (the AWS API emulator the drill's AWS path is tested
# against, internal/awstest). Idempotent: does nothing when they are present. Needs root for apt-get.
set -euo pipefail

# moto's server (PyPI: moto[server]): checked first, installed with pip only when missing.
moto_ok() { python3 -c 'import moto.server, flask, werkzeug' >/dev/null 2>&1; }
if ! moto_ok; then
	echo "install-test-deps: installing moto[server] (pip)"
	if ! { command -v python3 >/dev/null 2>&1 && python3 -m pip install --quiet 'moto[server]' && moto_ok; }; then
		echo "install-test-deps: moto[server] is missing and could not be installed (python3 -m pip install 'moto[server]': is PyPI reachable?); the drill's AWS tests need it" >&2
		exit 1
	fi
fi

need=()
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || need+=(mariadb-server mariadb-client)
[ -x /usr/sbin/sshd ] || need+=(openssh-server openssh-client)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
command -v zstd >/dev/null 2>&1 || need+=(zstd)
command -v curl >/dev/null 2>&1 || need+=(curl)   # pull staging: hosts fetch artifacts from the store
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v scp >/dev/null 2>&1 || need+=(openssh-client)
command -v dot >/dev/null 2>&1 || need+=(graphviz)
command -v jq >/dev/null 2>&1 || need+=(jq)   # the app unit's ExecStartPre (components/userdata's test runs it)
# The live local cloud (internal/localcloud/live): hosts in network namespaces, nftables security groups,
# sudo for the deploy engine's narrowly scoped restart rule.
[ -x /usr/sbin/nft ] || need+=(nftables)
[ -x /usr/sbin/ip ] || [ -x /sbin/ip ] || need+=(iproute2)
[ -x /usr/bin/sudo ] || need+=(sudo)
command -v nsenter >/dev/null 2>&1 || need+=(util-linux)
command -v mariadb-binlog >/dev/null 2>&1 || command -v mysqlbinlog >/dev/null 2>&1 || need+=(mariadb-client)
# mydumper/myloader: the peers of make bench-backup.
command -v mydumper >/dev/null 2>&1 || need+=(mydumper)
# The live local cloud's cache (ElastiCache stand-in): Redis with TLS.
[ -x /usr/bin/redis-server ] || need+=(redis-server redis-tools)

if [ ${#need[@]} -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
		echo "install-test-deps: missing ${need[*]} and not root: install them and re-run" >&2
		exit 1
	fi
else
	SUDO=
fi
echo "install-test-deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# policy-rc.d keeps Debian from starting the packaged services: tests start their own on loopback.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
	$SUDO chmod +x /usr/sbin/policy-rc.d
	trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
