# Shared by the mconsole end-to-end tests: start kuml in the background with a
# umid in a short uml_dir (sun_path holds 107 bytes; Bazel's TEST_TMPDIR can
# be longer), wait for its sockets, drive it with the real uml_mconsole,
# umlctl and Node.
umlctl_bin=${UMLCTL_BIN:-${TEST_SRCDIR:-.}/kuml/cli/umlctl}
[ -x "$umlctl_bin" ] || fail "umlctl not found at $umlctl_bin"
uml_dir=$(mktemp -d /tmp/kuml-e2e-XXXXXX)
kuml_pid=""
kuml_log=/dev/null

# Shows kuml's console and messages when a test fails, and where each of
# its threads waits.
show_kuml_log() {
  echo "kuml output:"
  sed 's/^/  | /' "$kuml_log" | tail -n 60
  if [ -n "$kuml_pid" ] && [ -d "/proc/$kuml_pid" ]; then
    # CPU time (user+system clock ticks) each thread used over 2 s, and
    # KVM's exit counters over the same 2 s: tells a vCPU that runs the
    # guest from one that spins in kuml or in the kernel.
    local -A ticks
    local t kvm_before kvm_after
    for t in /proc/"$kuml_pid"/task/*; do ticks[$t]=$(thread_ticks "$t"); done
    kvm_before=$(kvm_counters)
    local pos_before size_before
    pos_before=$(fd1_offset "$kuml_pid")
    size_before=$(stat -c %s "$kuml_log" 2>/dev/null)
    sleep 2
    kvm_after=$(kvm_counters)
    # kuml's console output (its fd 1) against the log's size as read here:
    # a log on a 9p share once stopped growing while kuml kept writing.
    echo "kuml's fd 1 offset before / after 2 s: $pos_before / $(fd1_offset "$kuml_pid");" \
      "the log's size: $size_before / $(stat -c %s "$kuml_log" 2>/dev/null)"
    echo "kuml's fd 1: $(readlink /proc/"$kuml_pid"/fd/1)"
    echo "kuml threads (CPU ticks used in 2 s):"
    for t in /proc/"$kuml_pid"/task/*; do
      echo "  $(cat "$t/comm" 2>/dev/null) wchan=$(cat "$t/wchan" 2>/dev/null)" \
        "syscall=$(cut -d' ' -f1 "$t/syscall" 2>/dev/null)" \
        "ticks=$(( $(thread_ticks "$t" || echo 0) - ${ticks[$t]:-0} ))"
    done
    echo "KVM counters before / after 2 s: $kvm_before / $kvm_after"
  fi
}

# thread_ticks </proc/<pid>/task/<tid>>: user + system CPU clock ticks.
thread_ticks() { awk '{print $14 + $15}' "$1/stat" 2>/dev/null; }

# fd1_offset <pid>: the file offset of the process's fd 1.
fd1_offset() { awk '/^pos:/ {print $2}' "/proc/$1/fdinfo/1" 2>/dev/null; }

# exits, io_exits, mmio_exits, signal_exits, irq_exits, halt_exits of every
# VM (KVM's debugfs; mounted in the nested KVM host).
kvm_counters() {
  local d=/sys/kernel/debug/kvm f out=""
  [ -r "$d/exits" ] || { echo "(no KVM debugfs)"; return; }
  for f in exits io_exits mmio_exits signal_exits irq_exits halt_exits; do
    out+="$f=$(cat "$d/$f" 2>/dev/null) "
  done
  echo "$out"
}

# start_kuml <log> <kuml args...>: sets $kuml_pid.
start_kuml() {
  local log=$1
  shift
  kuml_log=$log
  "$kuml_bin" uml_dir="$uml_dir" "$@" </dev/null >"$log" 2>&1 &
  kuml_pid=$!
}

# wait_for <seconds> <what> <command...>: until the command succeeds.
wait_for() {
  local limit=$1 what=$2
  shift 2
  local end=$(( $(date +%s) + limit ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$end" ] || { show_kuml_log; fail "timed out after $limit s waiting for $what"; }
    [ -z "$kuml_pid" ] || kill -0 "$kuml_pid" 2>/dev/null || { show_kuml_log; fail "kuml died while waiting for $what"; }
    sleep 0.2
  done
}

# mc <umid> <command...>: the real uml_mconsole, one shot, bounded in time;
# sets $mc_out and $mc_status.
mc() {
  local umid=$1
  shift
  mc_out=$(timeout 120 uml_mconsole "$uml_dir/$umid/mconsole" "$@" 2>/dev/null)
  mc_status=$?
  echo "$(date +%T) uml_mconsole $*: [$mc_status] $mc_out"
}

# ctl <args...>: umlctl with our uml_dir; sets $ctl_out and $ctl_status.
ctl() {
  ctl_out=$(timeout 120 "$umlctl_bin" --uml-dir="$uml_dir" "$@" 2>&1)
  ctl_status=$?
  echo "umlctl $*: [$ctl_status] $ctl_out"
}

expect_eq() {
  [ "$2" = "$3" ] || fail "$1: got '$2', expected '$3'"
}

# stdin_holder: run as `stdin_holder | kuml ... &` to give kuml a console
# input that stays open (EOF would power a shell-on-console guest off) until
# wait_exit or the EXIT trap calls stop_stdin_holder.
stdin_holder() {
  echo "$BASHPID" >"$uml_dir/stdin-holder.pid"
  exec sleep 100000 2>/dev/null
}
stop_stdin_holder() {
  [ -f "$uml_dir/stdin-holder.pid" ] || return 0
  kill "$(cat "$uml_dir/stdin-holder.pid")" 2>/dev/null
  rm -f "$uml_dir/stdin-holder.pid"
}

# wait_exit <seconds>: waits for kuml to end; sets $kuml_status.
wait_exit() {
  local end=$(( $(date +%s) + $1 ))
  while kill -0 "$kuml_pid" 2>/dev/null; do
    [ "$(date +%s)" -lt "$end" ] || { kill -9 "$kuml_pid"; fail "kuml did not exit within $1 s"; }
    sleep 0.2
  done
  # bash's `wait <pid>` waits for the pid's whole pipeline job: end the
  # stdin holder first or this waits for it (100000 s; seen as a hang).
  stop_stdin_holder
  wait "$kuml_pid"
  kuml_status=$?
}

# Every failure shows what kuml printed.
fail() {
  show_kuml_log
  echo "FAIL: $*" >&2
  exit 1
}
