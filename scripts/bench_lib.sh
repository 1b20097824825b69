# bench_lib.sh - sourced by scripts/bench_serve.sh and scripts/bench_treaty.sh: CPU accounting
# of the server, the generator and the machine, the server's lifetime, and small helpers.
# Expects SPID (the server's pid, set by the caller) when its functions are used.

# Clock ticks of a pid (user + system), and of the machine (busy, total).
HZ=$(getconf CLK_TCK)
pid_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
sys_ticks() { awk '/^cpu / { busy = $2 + $3 + $4 + $7 + $8 + $9; print busy, busy + $5 + $6 }' /proc/stat; }
# Per-thread ticks of the server: "tid comm ticks" lines.
thr_ticks() {
  local t
  for t in /proc/"$SPID"/task/*; do
    [ -r "$t/stat" ] && echo "${t##*/} $(tr ' ' _ < "$t/comm") $(awk '{ print $14 + $15 }' "$t/stat" 2>/dev/null || echo 0)"
  done
}
# Runs a generator command; prints its CPU ticks (children's user + system) on fd 3.
gen_cpu() { bash -c '"$@" ; rc=$?; read -ra s < /proc/$$/stat; echo $(( s[15] + s[16] )) >&3; exit $rc' gen "$@"; }
# The first number of key $2 in JSON file $1, and the first string.
jnum() { grep -o "\"$2\":[0-9.]*" "$1" | head -1 | cut -d: -f2; }
jstr() { grep -o "\"$2\":\"[^\"]*\"" "$1" | head -1 | cut -d'"' -f4; }

SPID=
# Stops the server: SIGTERM, up to 30 s for a clean exit, then SIGKILL.
stop_server() {
  if [ -n "$SPID" ] && kill -0 "$SPID" 2>/dev/null; then
    kill -TERM "$SPID"
    for _ in $(seq 300); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SPID" 2>/dev/null || true
  fi
  SPID=
}
trap stop_server EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
