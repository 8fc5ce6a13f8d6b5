#!/bin/bash
# crash.sh -- a successful write to tasks/new survives kill -9 of btfs: the
# next btfs on the same data directory and mountpoint clears the stale
# mount and shows every task; ids are never reused.
. "${0%/*}/lib.sh" || exit 1

# restart_after_crash WHAT: starts btfs on the stale mount. btfs should clear
# it itself; if it instead names the exact command to run, that is allowed
# too: run it and start again.
restart_after_crash() {
    if start_btfs; then
        pass "$1: btfs starts on the stale mount and clears it"
        return 0
    fi
    if grep -qF "fusermount3 -u $M" "$LOG"; then
        pass "$1: btfs refuses the stale mount and names 'fusermount3 -u $M'"
        fusermount3 -u "$M"
        start_btfs
        return 0
    fi
    fail "$1: btfs starts on the stale mount" "$(tail -n 5 "$LOG")"
    return 1
}

start_btfs
N="$M/tasks/new"

# ---- Kill -9 right after the writes returned ---------------------------------------

for i in $(seq 1 20); do echo "crash goal $i" >"$N"; done
for i in $(seq 21 50); do echo "crash goal $i"; done >"$T/batch"
cat "$T/batch" >"$N"
printf '%s\n' '{"goal":"crash json","priority":7,"skills":["io"]}' >"$N"
kill9_btfs

assert_ok "after kill -9 the mount is still listed (stale)" is_mounted "$M"
assert_fails "... and answers ENOTCONN" stat "$M/status.json"
assert_match "... 'Transport endpoint is not connected'" \
    "Transport endpoint is not connected" "$ERR"

restart_after_crash "first crash"
assert_eq "the mount is live again (stalled: no builders here)" stalled "$(jq -r .state "$M/status.json")"
assert_eq "all 51 tasks are there" 51 "$(task_count)"
{ for i in $(seq 1 50); do echo "crash goal $i"; done; echo "crash json"; } |
    sort >"$T/expected"
assert_eq "... with every goal exactly once" "" \
    "$(diff "$T/expected" <(all_goals | sort) | head -n 20 || true)"
assert_eq "the JSON task kept its fields" "7 io queued 0" \
    "$(jq -r '"\(.priority) \(.skills[0]) \(.status) \(.attempts)"' "$M/tasks/task_000051.json")"
assert_eq "the queue holds all 51, the priority-7 task first" "51 task_000051" \
    "$(queue_ids | wc -l) $(queue_ids | head -n 1)"
reply=$(bash -c 'exec 3<>"$1"; echo "after crash" >&3; cat <&3' _ "$N")
assert_eq "the next task gets the next id (no id reused)" task_000052 "$reply"

# ---- Kill -9 in the middle of a stream of writes -------------------------------------

: >"$T/live.ok"
(
    j=0
    while :; do
        j=$((j + 1))
        echo "$j" >"$T/live.tried"
        if { echo "live goal $j" >"$N"; } 2>/dev/null; then
            echo "live goal $j" >>"$T/live.ok"
        else
            break
        fi
    done
) &
writer=$!
for ((i = 0; i < 100; i++)); do
    [ "$(wc -l <"$T/live.ok")" -ge 30 ] && break
    sleep 0.05
done
kill9_btfs
wait "$writer" || true
ok=$(wc -l <"$T/live.ok")
tried=$(cat "$T/live.tried")
if [ "$ok" -ge 30 ]; then
    pass "btfs was killed during a stream of writes ($ok succeeded, $tried tried)"
else
    fail "btfs was killed during a stream of writes" "only $ok succeeded"
fi

restart_after_crash "second crash"
all_goals | grep '^live goal ' | sort >"$T/live.got" || true
sort "$T/live.ok" >"$T/live.want"
assert_eq "every write that returned success is there" "" \
    "$(comm -23 "$T/live.want" "$T/live.got" | head -n 10)"
extra=$(comm -13 "$T/live.want" "$T/live.got")
if [ -z "$extra" ] || [ "$extra" == "live goal $tried" ]; then
    pass "nothing else is there (at most the write in flight)"
else
    fail "nothing else is there (at most the write in flight)" "$extra"
fi
assert_eq "no goal twice" "" "$(all_goals | sort | uniq -d)"
bad=""
for f in "$M"/tasks/*.json "$M"/status.json "$M"/core/*.json; do
    jq empty "$f" 2>/dev/null || bad+="$f "
done
assert_eq "every task and core file parses after the crashes" "" "$bad"
assert_eq "the queue lists every task" "$(task_count)" "$(queue_ids | wc -l)"
assert_match "system.log is readable and holds the start-up line" "started" \
    "$(cat "$M/logs/system.log")"

# ---- Kill -9 during one big write: all of it or none ------------------------------------

python3 -c '
import os, sys
data = b"".join(b"atomic goal %05d %s\n" % (i, b"y" * 80) for i in range(8000))
fd = os.open(sys.argv[1], os.O_WRONLY)
open(sys.argv[2], "w").close()      # about to write: kill now
try:
    os.write(fd, data)
    print("ok")
except OSError as e:
    print(os.strerror(e.errno))
' "$N" "$T/atomic.start" >"$T/atomic.out" 2>&1 &
writer=$!
for ((i = 0; i < 100; i++)); do
    [ -e "$T/atomic.start" ] && break
    sleep 0.02
done
sleep 0.1       # about when validation ends and the commit runs (~0.15 s)
kill9_btfs
wait "$writer" || true
restart_after_crash "third crash"
n=$(all_goals | grep -c '^atomic goal' || true)
if [ "$(cat "$T/atomic.out")" == ok ]; then
    assert_eq "a big write that returned success is there whole" 8000 "$n"
elif [ "$n" -eq 0 ] || [ "$n" -eq 8000 ]; then
    pass "a big write cut by kill -9 is there whole or not at all ($n of 8000)"
else
    fail "a big write cut by kill -9 is there whole or not at all" \
        "$n of 8000 tasks; the write said: $(cat "$T/atomic.out")"
fi

stop_btfs TERM
assert_eq "btfs exits 0 on SIGTERM after recovering" 0 "$BTFS_RC"
assert_fails "the mount is gone" is_mounted "$M"
finish
