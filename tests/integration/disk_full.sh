#!/bin/bash
# disk_full.sh -- a data directory on a small filesystem that fills up, and
# one on a read-only filesystem. While the disk is full: a write to
# tasks/new fails with ENOSPC and adds nothing, the Builder's commit fails
# and its task goes back to the queue, status.json says the disk is full,
# every file still reads. Once space is freed the task passes and nothing
# acknowledged is lost, across a restart too. A read-only data directory is
# refused at start. The filesystems are tmpfs mounts made here (root only:
# skipped with 77 where mount(2) is not allowed).
. "${0%/*}/lib.sh" || exit 1

need_fake
need_sandbox

SMALL="$T/small"
mkdir "$SMALL"
mount -t tmpfs -o size=8m,mode=700 btfs-test "$SMALL" 2>/dev/null ||
    skip "cannot mount a tmpfs here (needs root and mount rights)"
D="$SMALL/data"
export BT_SEED=0 BT_TRAINER=0 BT_BUILDERS=1

# stop: the kernel sends a file's RELEASE after close(2) has returned, and
# a btfs stopped before it comes frees nothing for that handle (LeakSanitizer
# reports it in the sanitizer builds); give the last reads time to end.
stop() {
    sleep 1
    stop_btfs
}

# fill: writes zeros until the filesystem refuses more.
fill() {
    dd if=/dev/zero of="$SMALL/filler" bs=64k 2>/dev/null || true
    sync
}

# every_file_reads: cats every file of the tree; JSON files must parse.
every_file_reads() {
    local f bad=""
    while IFS= read -r f; do
        if [[ $f == *.json ]]; then
            jq -e . "$f" >/dev/null 2>&1 || bad+="$f "
        else
            cat "$f" >/dev/null 2>&1 || bad+="$f "
        fi
    done < <(find "$M" -type f ! -name new ! -name control)
    [ -z "$bad" ] || { echo "unreadable: $bad"; return 1; }
}

# The code answer is large (a long comment), so that saving it needs pages
# the store's free list cannot give; it comes after 3 s, time enough to
# fill the disk while the Builder holds the task.
CODE=$(python3 -c 'print("def square(x):\n" + "".join("    # %s\n" % ("pad" * 30) for _ in range(1500)) + "    return x * x")')
start_fake
fake_rule '{"kind":"reply","match":"review your own work","content":"{\"summary\": \"squares\", \"what_went_wrong\": \"\", \"lessons\": [\"multiply\"], \"concepts\": [\"arithmetic\"]}"}'
printf '```python\n%s\n```\n' "$CODE" |
    jq -Rs '{kind: "reply", match: "square(", first_delay_ms: 3000, content: .}' >"$T/rule.json"
# (too long for a command line: fake_rule takes it as an argument)
assert_eq "the fake takes the long answer" '{"ok":true}' \
    "$(curl -s --data-binary @"$T/rule.json" "http://127.0.0.1:$FAKE_PORT/fake/rules")"
start_btfs

echo '{"goal": "Write square(x) returning x squared.", "tests": "assert square(2) == 4", "hidden_tests": "assert square(3) == 9"}' >"$M/tasks/new"
for i in 1 2 3 4 5; do echo "kept task $i"; done >"$M/tasks/new"
assert_ok "the Builder takes the task" wait_status task_000001 running 10
assert_eq "the disk starts writable" "true" "$(jq .disk.writable "$M/status.json")"

# ---- the disk fills while the Builder works ------------------------------------

fill
assert_eq "the filesystem is full" 0 "$(df --output=avail -k "$SMALL" | tail -n 1 | tr -d ' ')"
python3 -c 'print("\n".join("lost batch line %d %s" % (i, "y" * 300) for i in range(3000)))' >"$T/batch"
assert_fails "a big write to tasks/new fails" sh_c "cat '$T/batch' > '$M/tasks/new'"
assert_match "... with ENOSPC" "No space left on device" "$ERR"
assert_eq "... and adds none of its tasks" 6 "$(task_count)"
assert_eq "status.json says the disk is full" "false stalled" \
    "$(jq -r '"\(.disk.writable) \(.state)"' "$M/status.json")"
assert_match "... why, and what to do" "disk of the data directory is full.*free space there" \
    "$(jq -r .disk.error "$M/status.json")"
assert_ok "every file of the tree still reads (JSON parses)" every_file_reads
assert_ok "the Builder's save fails and it waits for the disk" \
    wait_json '.builders[0].step == "the store cannot write"' 20 '{state, disk, builders}'
assert_match "the task is not lost meanwhile" "^(running|queued)$" "$(task_field task_000001 .status)"

# ---- space comes back -----------------------------------------------------------

rm -f "$SMALL/filler"
assert_ok "once space is freed the task passes" wait_status task_000001 passed 30
assert_eq "its code was saved whole" "$(printf '%s\n' "$CODE" | wc -c)" \
    "$(cat "$M"/code_archive/task_000001/attempt_1.py | wc -c)"
assert_ok "status.json says the disk is writable again" \
    wait_json '.disk.writable == true and .disk.error == null and .state != "stalled"' 10 '{state, disk, builders}'
assert_match "system.log tells the story" "back on the queue \(No space left on device\)" \
    "$(cat "$M/logs/system.log")"
assert_ok "tasks/new takes tasks again" sh_c "echo 'after the disk was freed' > '$M/tasks/new'"
assert_eq "nothing acknowledged is lost, nothing refused was added" \
    "Write square(x) returning x squared.|kept task 1|kept task 2|kept task 3|kept task 4|kept task 5|after the disk was freed" \
    "$(all_goals | paste -sd'|')"
stop
start_btfs --builders 0
assert_eq "... and so it stays after a restart" 7 "$(task_count)"
assert_eq "... with the task passed once" "passed 1" \
    "$(jq -r '"\(.status) \(.attempts)"' "$M/tasks/task_000001.json")"
stop

# ---- a read-only data directory ---------------------------------------------------

mount -o remount,ro "$SMALL"
assert_exit "a data directory on a read-only filesystem is refused at start" 2 \
    "$BTFS" -f --data "$D" "$M"
assert_match "... saying so, with the fix" "data directory .* is on a read-only filesystem.*remount it read-write or pass another --data" "$ERR"
assert_eq "... and nothing is mounted" "" "$(awk -v m="$M" '$2 == m' /proc/mounts)"
assert_exit "a data directory to create there is refused too" 2 \
    "$BTFS" -f --data "$SMALL/new/data" "$M"
assert_match "... with the same fix" "data directory $SMALL/new: it is on a read-only filesystem; remount it read-write or pass another --data" "$ERR"
umount "$SMALL"

finish
