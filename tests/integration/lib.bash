# lib.bash - shared by the integration tests: pass/fail counting and expectations.
# Each test script sources this, uses $TREATYLOG and $TLOGVERIFY, and ends with `finish`.
set -u
: "${TREATYLOG:?set TREATYLOG to the treatylog binary}"
: "${TLOGVERIFY:?set TLOGVERIFY to the Go oracle binary}"
T=$TREATYLOG
V=$TLOGVERIFY
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tl-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
pass=0 fail=0
ok()  { pass=$((pass+1)); echo "ok   $*"; }
bad() { fail=$((fail+1)); echo "FAIL $*"; }
# expect_ok DESC CMD...: the command exits 0.
expect_ok() {
  local desc=$1; shift
  if "$@" >"$WORK/last.out" 2>"$WORK/last.err"; then ok "$desc"; else
    bad "$desc (exit $?)"; tail -5 "$WORK/last.err"; fi
}
# expect_exit CODE DESC CMD...: the command exits with CODE (and says why on stderr).
expect_exit() {
  local code=$1 desc=$2; shift 2
  "$@" >"$WORK/last.out" 2>"$WORK/last.err"
  local rc=$?
  if [ $rc -eq "$code" ] && [ -s "$WORK/last.err" ]; then ok "$desc"; else
    bad "$desc (exit $rc, want $code)"; tail -5 "$WORK/last.err"; fi
}
# expect_fail DESC CMD...: the command exits non-zero.
expect_fail() {
  local desc=$1; shift
  if "$@" >"$WORK/last.out" 2>"$WORK/last.err"; then bad "$desc (unexpectedly passed)"; else ok "$desc"; fi
}
# stderr_has TEXT DESC: the last command's stderr mentions TEXT.
stderr_has() {
  if grep -qF -- "$1" "$WORK/last.err"; then ok "$2"; else bad "$2: stderr lacks '$1'"; cat "$WORK/last.err"; fi
}
# records N FILE: N distinct lines "entry number i".
records() { seq 0 $(($1 - 1)) | sed 's/^/entry number /' > "$2"; }
# tree_sum DIR: a digest of every file (path + content) under DIR, to prove nothing changed.
tree_sum() { (cd "$1" && find . -type f ! -path './.treatylog/lock' -print0 | sort -z | xargs -0 sha256sum 2>/dev/null | sha256sum); }
finish() {
  echo "$pass passed, $fail failed"
  [ "$fail" -eq 0 ]
}

# start_server DIR [ARGS...]: starts `treatylog serve` on a free loopback port; sets U (its
# URL) and SPID. Fails the test if it does not come up.
start_server() {
  local dir=$1; shift
  rm -f "$WORK/url"
  $T serve --dir "$dir" --listen 127.0.0.1:0 "$@" > "$WORK/url" 2>>"$WORK/serve.err" &
  SPID=$!
  for _ in $(seq 100); do [ -s "$WORK/url" ] && break; sleep 0.05; done
  U=$(head -1 "$WORK/url" 2>/dev/null)
  if [ -z "$U" ]; then bad "server did not start"; cat "$WORK/serve.err"; return 1; fi
}
# stop_server: SIGTERM, and wait for a clean exit (0).
stop_server() {
  kill -TERM "$SPID" 2>/dev/null
  wait "$SPID"
}
# http_status METHOD URL [curl args...]: prints the status code; body in $WORK/body.
http_status() {
  local m=$1 url=$2; shift 2
  curl -s -o "$WORK/body" -w '%{http_code}' -X "$m" "$@" "$url"
}
