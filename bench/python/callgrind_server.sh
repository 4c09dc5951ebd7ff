# Shared by instructions.sh and http_instructions.sh (sourced, not run): starting a Python
# server under callgrind and stopping it so that callgrind writes its counts.

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# callgrind_python OUT_FILE LOG_FILE SCRIPT ARGS...: runs SCRIPT under callgrind in the
# background (its pid in $!). A fixed hash seed: with a random one, dict probe lengths, and
# so the count, change from run to run by hundreds of instructions per request. glibc is
# told not to copy with `rep movsb`, whose every step valgrind would count (a 100 KiB copy
# would weigh ~50,000 instructions instead of the ~3,000 vector ones it is on the CPU).
callgrind_python() {
  local file=$1 log=$2
  shift 2
  GLIBC_TUNABLES=glibc.cpu.x86_rep_movsb_threshold=4294967295 \
    PYTHONHASHSEED=0 PYTHONPATH="$build/bindings/python/lib" valgrind --tool=callgrind \
    --callgrind-out-file="$file" "$python" "$@" 2>"$log" &
}

stop_server() { # SIGINT: the server exits and callgrind writes its counts
  # The server may still be closing the client's connections (slowly, under callgrind)
  # when the signal lands; should one SIGINT be lost there, the next one stops it.
  for _ in $(seq 1 12); do
    kill -INT "$1" 2>/dev/null || break
    for _ in $(seq 1 50); do
      kill -0 "$1" 2>/dev/null || break 2
      sleep 0.1
    done
  done
  if kill -0 "$1" 2>/dev/null; then
    kill -KILL "$1"
    echo "the server ignored SIGINT for a minute" >&2
  fi
  wait "$1" 2>/dev/null || true
}

# instructions_of FILE: the total callgrind counted, or a message and failure.
instructions_of() {
  if ! grep -q '^summary:' "$1"; then
    echo "no counts in $1" >&2
    tail -5 "$1.log" >&2 2>/dev/null
    return 1
  fi
  awk '/^summary:/ {print $2}' "$1"
}
