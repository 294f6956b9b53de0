#!/bin/sh
# Test stand-in for `systemctl restart`: (re)starts ROOT/current/app on 127.0.0.1:PORT, detached
# (setsid) so it outlives the SSH session; pid in ROOT/app.pid, log in ROOT/app.log.
R=$1 P=$2
# A stopped service may linger as a zombie until init reaps it: that counts as gone.
alive() { [ -d "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
if [ -f "$R/app.pid" ]; then
  pid=$(cat "$R/app.pid")
  kill "$pid" 2>/dev/null || true
  i=0
  while alive "$pid" && [ $i -lt 200 ]; do sleep 0.01; i=$((i+1)); done
  kill -9 "$pid" 2>/dev/null || true
fi
cd "$R" || exit 1
setsid "$R/current/app" -addr "127.0.0.1:$P" >> "$R/app.log" 2>&1 < /dev/null &
echo $! > "$R/app.pid"
