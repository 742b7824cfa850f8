# Shared by scripts/bench and scripts/bench-kafka: the machine limits a
# result is set against, measured in the same run. Source it after `work` (a
# scratch directory on the disk, not tmpfs) is set; needs fio and jq.

# fio_job NAME ARGS...: prints fio's JSON for one sequential-write job of a
# new file in $work (fallocate=none: extending writes, as the log does).
fio_job() {
  local name="$1"; shift
  sync
  fio --name="$name" --filename="$work/$name.fio" --rw=write --ioengine=psync --fallocate=none \
    --output-format=json "$@" 2>/dev/null
  rm -f "$work/$name.fio"
}

# MB/s of sequential 1 MiB writes with fdatasync after each: the limit of
# fsync=always with big appends.
sync1m_mb_s() {
  fio_job sync1m --bs=1m --size=256m --runtime=3 --fdatasync=1 | jq '.jobs[0].write.bw_bytes / 1e6'
}

# buffered_mb_s SECONDS MAX_MB: MB/s of sequential 1 MiB writes into the page
# cache (no sync), the limit of fsync=never and interval. The best of three
# back-to-back writes: on this VM a write into memory the host has taken
# back (after a pause) runs at a tenth of the usual speed, and a limit is
# what the machine can do, so the slow first one must not set it.
buffered_mb_s() {
  for _ in 1 2 3; do
    fio_job buffered --bs=1m --size="$2m" --runtime="$1" | jq '.jobs[0].write.bw_bytes / 1e6'
  done | sort -g | tail -1
}
