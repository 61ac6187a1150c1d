#!/usr/bin/env bash
# A one-node Slurm on localhost, for tests and by hand: munged, slurmctld and slurmd with every
# file (key, socket, config, state, logs, pid files) inside DIR and private ports, so it neither
# needs nor touches a system Slurm or munge. Needs root (SlurmUser=root) and Debian's slurm-wlm
# and munge packages.
#   tests/slurm/local-slurm.sh start DIR   # then: export SLURM_CONF=DIR/slurm.conf
#   tests/slurm/local-slurm.sh stop DIR    # cancels its jobs, stops the daemons by their PIDs
# Knobs: REBENCH_SLURM_PORT (slurmctld port; slurmd uses the next one; default 16817),
#        REBENCH_SLURM_CPUS (default: nproc).
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
action=$1
dir=$2
say() { printf '[local-slurm] %s\n' "$*" >&2; }

start() {
  [ "$(id -u)" = 0 ] || { say "must run as root (the test cluster uses SlurmUser=root)"; exit 1; }
  for tool in munged slurmctld slurmd sinfo; do
    command -v "$tool" >/dev/null || { say "$tool not found: install slurm-wlm and munge"; exit 1; }
  done
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  chmod 700 "$dir"
  mkdir -p "$dir/munge" "$dir/state" "$dir/spool"
  chmod 700 "$dir/munge"
  # munge: a fresh key and a private socket; munged refuses insecure files, so root owns all.
  head -c 1024 /dev/urandom > "$dir/munge/munge.key"
  chmod 400 "$dir/munge/munge.key"
  munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
         --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" \
         --seed-file="$dir/munge/munged.seed"
  local host port cpus memory
  host=$(hostname -s)
  port=${REBENCH_SLURM_PORT:-16817}
  cpus=${REBENCH_SLURM_CPUS:-$(nproc)}
  # Below what the machine has, or slurmd drains the node for "Low RealMemory".
  memory=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
  cat > "$dir/slurm.conf" <<CONF
# One-node test cluster written by tests/slurm/local-slurm.sh
ClusterName=rebenchtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  export SLURM_CONF="$dir/slurm.conf"
  slurmctld -f "$SLURM_CONF"
  slurmd -f "$SLURM_CONF"
  for _ in $(seq 1 100); do
    if sinfo -h -o '%t' 2>/dev/null | grep -qx 'idle'; then
      say "up: export SLURM_CONF=$SLURM_CONF"
      return 0
    fi
    sleep 0.3
  done
  say "the node did not become idle in 30 s; sinfo says:"
  sinfo >&2 || true
  tail -n 20 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
  exit 1
}

stop_pid_file() {
  local file=$1 pid
  [ -f "$file" ] || return 0
  pid=$(cat "$file")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.2
  done
  say "$file: PID $pid ignored SIGTERM for 10 s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
}

stop() {
  [ -d "$dir" ] || return 0
  dir=$(cd "$dir" && pwd)
  export SLURM_CONF="$dir/slurm.conf"
  # This cluster's jobs only (SLURM_CONF names it): their steps end before the daemons do.
  if [ -f "$dir/slurmctld.pid" ] && command -v squeue >/dev/null; then
    jobs=$(squeue -h -o '%A' 2>/dev/null | sort -u || true)
    [ -z "$jobs" ] || scancel $jobs 2>/dev/null || true
    for _ in $(seq 1 25); do
      [ -z "$(squeue -h -o '%A' 2>/dev/null || true)" ] && break
      sleep 0.2
    done
  fi
  stop_pid_file "$dir/slurmd.pid"
  stop_pid_file "$dir/slurmctld.pid"
  stop_pid_file "$dir/munge/munged.pid"
  say "stopped"
}

case "$action" in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
