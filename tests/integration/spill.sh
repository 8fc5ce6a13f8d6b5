#!/bin/bash
# spill.sh -- a collection larger than 1 MiB is read from a file btfs
# renders it into (unlinked, in the data directory), not held in btfs's
# memory (issue #16.2), and it is still one snapshot per open: a reader
# holding it across new tasks reads the old list whole, a new open the new
# one, and the size lseek(SEEK_END) finds is the snapshot's. Nothing is left in the
# data directory afterwards.
. "${0%/*}/lib.sh" || exit 1

umask 022     # the mode below must come from btfs, not from the umask
start_btfs
pid=$BTFS_PID

# 2,000 tasks with 600-byte goals: task_queue.json is about 2.5 MiB.
python3 - "$M/tasks/new" <<'EOF2'
import json, sys
pad = "x" * 600
with open(sys.argv[1], "w") as f:
    f.write("".join(json.dumps({"goal": "task %d %s" % (i, pad)}) + "\n"
                    for i in range(2000)))
EOF2
assert_eq "2000 tasks are queued" 2000 "$(task_count)"

cat >"$T/hold.py" <<'EOF2'
import json, os, sys
m, pid = sys.argv[1], sys.argv[2]
q = os.path.join(m, "tasks/task_queue.json")

def read_all(fd):
    out = b""
    while True:
        b = os.pread(fd, 65536, len(out))
        if not b:
            return out
        out += b

def spill_files():
    n = 0
    for fd in os.listdir("/proc/%s/fd" % pid):
        try:
            t = os.readlink("/proc/%s/fd/%s" % (pid, fd))
        except OSError:
            continue
        if t.startswith(os.path.realpath(sys.argv[3])) and "(deleted)" in t:
            n += 1
            modes.add("%o" % (os.stat("/proc/%s/fd/%s" % (pid, fd)).st_mode & 0o777))
    return n
modes = set()

fd = os.open(q, os.O_RDONLY)
first = os.pread(fd, 4096, 0)            # part of it, before the change
print("spill_open", spill_files())
print("spill_mode", " ".join(sorted(modes)))
with open(os.path.join(m, "tasks/new"), "w") as f:
    f.write("".join('{"goal": "late %d"}\n' % i for i in range(100)))
rest = read_all(fd)
old = json.loads(rest)
print("old_whole", int(rest[:4096] == first), len(old))
print("old_seekend", int(os.lseek(fd, 0, os.SEEK_END) == len(rest)))
os.close(fd)
with open(q, "rb") as f:
    new = f.read()
print("new", len(json.loads(new)), int(os.stat(q).st_size == len(new)))
print("spill_closed", spill_files())
EOF2
out=$(python3 "$T/hold.py" "$M" "$pid" "$D")
assert_eq "an open queue over 1 MiB is a file of btfs's" "spill_open 1" \
    "$(grep spill_open <<<"$out")"
assert_eq "... private to btfs's user like the store (0600, umask 022)" "spill_mode 600" \
    "$(grep spill_mode <<<"$out")"
assert_eq "the holder reads its snapshot whole" "old_whole 1 2000" \
    "$(grep old_whole <<<"$out")"
# fstat(2) names no open file on Linux; lseek(SEEK_END) does (cache.sh).
assert_eq "lseek(SEEK_END) gives the snapshot's size" "old_seekend 1" \
    "$(grep old_seekend <<<"$out")"
assert_eq "a new open sees the new tasks, stat its size" "new 2100 1" \
    "$(grep '^new' <<<"$out")"
# RELEASE is asynchronous: give it a moment before counting files.
for _ in 1 2 3 4 5 6 7 8 9 10; do
    n=$(ls -l "/proc/$pid/fd" 2>/dev/null | grep -c "$D.*(deleted)" || true)
    [ "$n" = 0 ] && break
    sleep 0.2
done
assert_eq "the file goes at close" 0 "$n"
assert_eq "nothing is left in the data directory" "" \
    "$(ls -A "$D" | grep -vxE 'data\.mdb|lock\.mdb|btfs\.lock' || true)"
stop_btfs
finish
