#!/bin/bash
# concurrency.sh -- four writers at once on tasks/new (single-line and
# multi-line writes, one reading its ids back) while a reader parses every
# JSON file over and over: every file parses, ids are unique, no task is
# lost or doubled, and the queue is in run order.
. "${0%/*}/lib.sh" || exit 1

start_btfs
N="$M/tasks/new"
PER=50          # tasks per writer

# Writers 1 and 2: one echo per task. Writer 3: two lines per printf.
bash_writer() {
    local k=$1 j
    if [ "$k" -eq 3 ]; then
        for ((j = 1; j <= PER; j += 2)); do
            printf 'w%d goal %d\nw%d goal %d\n' "$k" "$j" "$k" "$((j + 1))" \
                >"$N" || echo "write of w$k goal $j failed" >>"$T/w$k.err"
        done
    else
        for ((j = 1; j <= PER; j++)); do
            echo "w$k goal $j" >"$N" || echo "write of w$k goal $j failed" >>"$T/w$k.err"
        done
    fi
}

# Writer 4: python, O_RDWR, JSON lines with priorities, 1 to 3 lines a
# write; reads the ids back on the same file and checks that each names a
# task holding the goal it wrote (no reply meant for another writer).
cat >"$T/w4.py" <<'EOF'
import json, os, sys
new, per = sys.argv[1], int(sys.argv[2])
tasks = os.path.dirname(new)
j, sizes, k = 1, [1, 3, 2], 0
while j <= per:
    n = min(sizes[k % 3], per - j + 1)
    k += 1
    lines = [{"goal": "w4 goal %d" % i, "priority": i % 3} for i in range(j, j + n)]
    data = "".join(json.dumps(l) + "\n" for l in lines).encode()
    fd = os.open(new, os.O_RDWR)
    assert os.write(fd, data) == len(data)
    reply = os.read(fd, 65536).decode()
    os.close(fd)
    ids = reply.split()
    assert len(ids) == n, "reply %r for %d lines" % (reply, n)
    for l, i in zip(lines, ids):
        with open(os.path.join(tasks, i + ".json")) as f:
            t = json.load(f)
        assert t["goal"] == l["goal"], "%s holds %r, wrote %r" % (i, t["goal"], l["goal"])
    j += n
EOF

# The reader: walks the whole mount and parses every JSON file until told to
# stop; task files must also have the size that stat gives.
cat >"$T/reader.py" <<'EOF'
import json, os, sys
mnt, stop = sys.argv[1], sys.argv[2]
rounds = files = 0
errors = []
while True:
    last = os.path.exists(stop)     # one full round after the writers end
    for root, dirs, names in os.walk(mnt):
        for n in names:
            if not n.endswith(".json"):
                continue
            p = os.path.join(root, n)
            try:
                with open(p, "rb") as f:
                    data = f.read()
                json.loads(data)
                files += 1
                if n.startswith("task_0"):
                    size = os.stat(p).st_size
                    if size != len(data):
                        errors.append("%s: stat %d, read %d" % (p, size, len(data)))
            except Exception as e:
                errors.append("%s: %s" % (p, e))
    rounds += 1
    if last:
        break
print(rounds, files)
for e in errors[:20]:
    print(e, file=sys.stderr)
sys.exit(1 if errors else 0)
EOF

python3 "$T/reader.py" "$M" "$T/stop" >"$T/reader.out" 2>"$T/reader.err" &
reader=$!
bash_writer 1 & w1=$!
bash_writer 2 & w2=$!
bash_writer 3 & w3=$!
python3 "$T/w4.py" "$N" "$PER" 2>"$T/w4.err" & w4=$!

for k in 1 2 3 4; do
    pid_var="w$k"
    rc=0
    wait "${!pid_var}" || rc=$?
    errs=$(cat "$T/w$k.err" 2>/dev/null || true)
    assert_eq "writer $k finished without a failed write" "0 " "$rc $errs"
done
touch "$T/stop"
rc=0
wait "$reader" || rc=$?
read -r rounds files <"$T/reader.out" || true
assert_eq "the reader parsed every JSON file in $rounds rounds ($files files) without an error" \
    "0 " "$rc $(cat "$T/reader.err")"
if [ "${rounds:-0}" -ge 2 ]; then
    pass "the reader ran during the writes ($rounds rounds)"
else
    fail "the reader ran during the writes" "rounds: ${rounds:-none}"
fi

# ---- Nothing lost, nothing doubled ----------------------------------------------

for k in 1 2 3 4; do
    for ((j = 1; j <= PER; j++)); do echo "w$k goal $j"; done
done | sort >"$T/expected"
all_goals | sort >"$T/got"
assert_eq "$((4 * PER)) tasks stored" "$((4 * PER))" "$(task_count)"
assert_eq "every goal present exactly once" "" \
    "$(diff "$T/expected" "$T/got" | head -n 20 || true)"
assert_eq "no goal twice" "" "$(uniq -d "$T/got")"
ids_in_files=$(jq -r .id "$M"/tasks/task_[0-9]*.json | sort)
assert_eq "ids inside the files are unique" "" "$(uniq -d <<<"$ids_in_files")"
assert_eq "each file's id is its name" "$(task_ids | sort)" "$ids_in_files"
for k in 1 2 3; do
    order=$(jq -r 'select(.goal | startswith("w'"$k"' ")) | "\(.id) \(.goal)"' \
        "$M"/tasks/task_[0-9]*.json | sort -t_ -k2,2n | sed 's/.* goal //')
    assert_eq "writer $k's tasks got ids in the order it wrote them" \
        "$(seq 1 "$PER")" "$order"
done

# ---- The queue --------------------------------------------------------------------

queue_ids >"$T/queue"
assert_eq "task_queue.json lists all $((4 * PER)) tasks" "$((4 * PER))" "$(wc -l <"$T/queue")"
jq -r '"\(.id) \(.priority)"' "$M"/tasks/task_[0-9]*.json >"$T/prio"
bad=$(awk 'NR == FNR { p[$1] = $2; next }
           { id = $1; n = substr(id, 6) + 0
             if (FNR > 1 && (p[id] > lp || (p[id] == lp && n < ln)))
                 print "queue: " id " (priority " p[id] ") after " lid " (priority " lp ")"
             lp = p[id]; ln = n; lid = id }' "$T/prio" "$T/queue" | head -n 5)
assert_eq "the queue runs higher priority first, then older" "" "$bad"
assert_eq "status.json's queue depth is $((4 * PER))" "$((4 * PER))" \
    "$(jq -r '.queue_depth // .queued' "$M/status.json")"

# ---- A read is a snapshot taken at open ------------------------------------------------

assert_ok "an open file keeps the snapshot of its open while tasks are added" python3 -c '
import json, os, re, sys
def n_ids(data):        # entries may be ids or task objects
    return len(set(re.findall(b"\"(task_[0-9]{6,})\"", data)))
mnt = sys.argv[1]
q = os.path.join(mnt, "tasks", "task_queue.json")
st = os.path.join(mnt, "status.json")
fq = open(q, "rb")
fs = open(st, "rb")
head = fq.read(10)                  # a first read before the change
before = n_ids(open(q, "rb").read())
fd = os.open(os.path.join(mnt, "tasks", "new"), os.O_WRONLY)
os.write(fd, b"".join(b"snapshot goal %d\n" % i for i in range(10)))
os.close(fd)
old = head + fq.read()
json.loads(old)
assert n_ids(old) == before, "open queue grew from %d to %d" % (before, n_ids(old))
depth = json.load(fs)
qd = depth.get("queue_depth", depth.get("queued"))
assert qd == before, "status.json opened before shows %r, expected %d" % (qd, before)
new = n_ids(open(q, "rb").read())
assert new == before + 10, "a new open shows %d, expected %d" % (new, before + 10)
' "$M"

stop_btfs TERM
assert_eq "btfs exits 0 on SIGTERM" 0 "$BTFS_RC"
finish
