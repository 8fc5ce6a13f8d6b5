#!/bin/bash
# control.sh -- pause and resume through the control file: what it reads,
# what status.json says, bad words refused, and the state surviving a
# restart of btfs on the same data directory.
. "${0%/*}/lib.sh" || exit 1

start_btfs
C="$M/control"

state() {
    jq -r .state "$M/status.json"
}

assert_eq "control reads running at first" running "$(cat "$C")"
# No builders run in this test (BT_BUILDERS=0), so the honest state is
# "stalled", and it says why.
assert_eq "status.json says stalled (no builders)" stalled "$(state)"
assert_match "... with the reason" "no builders" "$(jq -r .reason "$M/status.json")"
assert_eq "control's size equals its content" "$(wc -c <"$C")" "$(stat -c %s "$C")"

assert_ok "echo pause > control succeeds" sh_c "echo pause > '$C'"
assert_eq "control reads paused" paused "$(cat "$C")"
assert_eq "status.json says paused" paused "$(state)"
assert_eq "control's size follows its content" "$(wc -c <"$C")" "$(stat -c %s "$C")"
assert_ok "pausing again is harmless" sh_c "echo pause > '$C'"
assert_eq "... still paused" paused "$(cat "$C")"

assert_ok "tasks can be added while paused" sh_c "echo 'while paused' > '$M/tasks/new'"
assert_eq "... and stay queued" "queued 1" \
    "$(jq -r .status "$M/tasks/task_000001.json") $(queue_ids | wc -l)"

assert_fails "echo bogus > control fails" sh_c "echo bogus > '$C'"
assert_match "... with EINVAL" "Invalid argument" "$ERR"
assert_eq "... and changes nothing" paused "$(cat "$C")"
assert_fails "an empty write to control fails" sh_c "echo > '$C'"
assert_eq "... and changes nothing" paused "$(cat "$C")"
assert_fails "'pause resume' on one line fails" sh_c "echo 'pause resume' > '$C'"
assert_eq "... and changes nothing" paused "$(cat "$C")"

assert_ok "echo resume > control succeeds" sh_c "echo resume > '$C'"
assert_eq "control reads running" running "$(cat "$C")"
assert_eq "status.json says stalled (no builders), not paused" stalled "$(state)"
assert_ok "printf pause without a newline works" sh_c "printf pause > '$C'"
assert_eq "control reads paused" paused "$(cat "$C")"
assert_ok "echo resume >> control (O_APPEND) works" sh_c "echo resume >> '$C'"
assert_eq "control reads running" running "$(cat "$C")"
assert_fails "rm control fails" rm -f "$C"

# ---- Persistence across restarts --------------------------------------------------

assert_ok "pause before a restart" sh_c "echo pause > '$C'"
stop_btfs TERM
assert_eq "btfs exits 0 on SIGTERM" 0 "$BTFS_RC"
start_btfs
assert_eq "after a restart control still reads paused" paused "$(cat "$C")"
assert_eq "... and status.json says paused" paused "$(state)"
assert_eq "... and the task is still queued" "task_000001" "$(queue_ids)"
assert_ok "resume after the restart" sh_c "echo resume > '$C'"
stop_btfs INT
assert_eq "btfs exits 0 on SIGINT" 0 "$BTFS_RC"
start_btfs
assert_eq "after another restart control reads running" running "$(cat "$C")"
assert_eq "... and status.json says stalled (no builders), not paused" stalled "$(state)"

# A pause written just before kill -9 is durable too.
assert_ok "pause, then kill -9" sh_c "echo pause > '$C'"
kill9_btfs
# (crash.sh checks how btfs handles the stale mount; here it only matters
# that it comes back)
start_btfs || { fusermount3 -u "$M" && start_btfs; }
assert_eq "after kill -9 and a restart control reads paused" paused "$(cat "$C")"

stop_btfs TERM
assert_eq "btfs exits 0 on SIGTERM" 0 "$BTFS_RC"
finish
