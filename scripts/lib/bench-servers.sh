# Shared by scripts/bench-pubsub and scripts/bench-streams: starting servers
# on free loopback ports and stopping exactly those on exit. Source it after
# `work` (a scratch directory) is set; it sets the EXIT trap.
#
# Every server started here is a child process recorded in `pids` and
# stopped by PID; nothing else is touched.

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A loopback port nobody listens on (a server that then fails to bind it is
# caught by wait_ready, and the caller tries another).
free_port() {
  local port
  while :; do
    port=$(( 20000 + RANDOM % 40000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
}

# True once the server on port $1 answers PING with +PONG, within 5 s,
# while process $2 lives.
wait_ready() {
  local port="$1" pid="$2" reply
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || return 1
    reply=$( (exec 3<>"/dev/tcp/127.0.0.1/$port" && printf 'PING\r\n' >&3 &&
              read -r -t 1 line <&3 && echo "${line%$'\r'}") 2>/dev/null || true)
    [ "$reply" = "+PONG" ] && return 0
    sleep 0.1
  done
  return 1
}

# start_server NAME CMD...: runs CMD in the background with PORT replaced by
# a free port, and sets $started_port and $started_pid once it answers PING.
# Not to be called in a subshell: the PID must reach the cleanup list.
start_server() {
  local name="$1"; shift
  local port pid args
  started_port=""
  started_pid=""
  for _ in 1 2 3; do
    port=$(free_port)
    args=("${@//PORT/$port}")
    "${args[@]}" >"$work/$name.log" 2>&1 &
    pid=$!
    pids+=("$pid")
    if wait_ready "$port" "$pid"; then started_port="$port"; started_pid="$pid"; return 0; fi
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  return 1
}

# True if this build's `runnel serve` has a RESP listener.
runnel_serves_resp() {
  "$1" serve --help 2>/dev/null | grep -q -- '--resp' &&
    ! "$1" serve --help 2>/dev/null | grep -qi 'not part of this build'
}

median() { sort -g | awk '{v[NR]=$1} END {if (NR == 0) print ""; else print v[int((NR + 1) / 2)]}'; }

# ratio A B: A / B to two decimals, or — when either is missing or B is 0.
ratio() {
  if [ -z "$1" ] || [ -z "$2" ]; then echo "—"; return; fi
  awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "—"}'
}
