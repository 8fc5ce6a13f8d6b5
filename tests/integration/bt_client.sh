#!/bin/bash
# bt_client.sh -- the bt client against a real mount: every command, the
# mount found by --mount, BT_MOUNT and ./mountpoint, --json equal to the
# files, and errors (no mount, unknown task, bad values) on stderr with a
# non-zero exit.
. "${0%/*}/lib.sh" || exit 1

# bt_err WHAT ARGS...: bt ARGS must fail with a "bt: " message on stderr.
bt_err() {
    local what=$1
    shift
    assert_fails "$what" "$BT" "$@"
    assert_match "... with a 'bt: ' message on stderr" '^bt: ' "$ERR"
}

# ---- Without a mount ---------------------------------------------------------------

bt_err "bt status with a --mount that does not exist" --mount "$T/nowhere" status
mkdir "$T/empty"
bt_err "bt status on a directory that is not mounted" --mount "$T/empty" status
bt_err "bt add-task without a mount" --mount "$T/empty" add-task "lost goal"
bt_err "bt list-tasks with ./mountpoint not mounted" list-tasks

start_btfs

# ---- add-task ----------------------------------------------------------------------

assert_ok "bt add-task prints the new id" "$BT" --mount "$M" add-task "bt goal one"
assert_eq "... task_000001" task_000001 "$OUT"
assert_eq "... whose file holds the goal" "bt goal one" \
    "$(jq -r .goal "$M/tasks/task_000001.json")"
assert_ok "bt add-task with --difficulty, --priority and two --skill" \
    "$BT" --mount "$M" add-task "bt goal two" --difficulty 0.8 --priority 3 \
    --skill recursion --skill strings
id2=$OUT
assert_eq "... every value is in the task file" \
    '{"goal":"bt goal two","difficulty":0.8,"priority":3,"skills":["recursion","strings"]}' \
    "$(jq -c '{goal,difficulty,priority,skills}' "$M/tasks/$id2.json" 2>&1)"
assert_ok "bt --json add-task prints JSON" "$BT" --mount "$M" --json add-task "bt goal three"
assert_eq "... {\"id\": ...}" task_000003 "$(jq -r .id <<<"$OUT" 2>&1)"
export BT_MOUNT="$M"
assert_ok "BT_MOUNT finds the mount" "$BT" add-task 'quotes "and" \back\slash'
assert_eq "... and a goal with quotes and backslashes arrives unchanged" \
    'quotes "and" \back\slash' "$(jq -r .goal "$M/tasks/$OUT.json" 2>&1)"
unset BT_MOUNT
assert_ok "./mountpoint is the default mount" "$BT" add-task "bt goal five"
assert_eq "... task_000005" task_000005 "$OUT"
assert_eq "five tasks" 5 "$(task_count)"

before=$(task_count)
bt_err "add-task --difficulty 7 is refused" --mount "$M" add-task x --difficulty 7
bt_err "add-task --priority 5000 is refused" --mount "$M" add-task x --priority 5000
bt_err "add-task --difficulty abc is refused" --mount "$M" add-task x --difficulty abc
bt_err "add-task with an empty goal is refused" --mount "$M" add-task ""
bt_err "add-task without a goal is refused" --mount "$M" add-task
assert_eq "... and none of them added a task" "$before" "$(task_count)"
assert_ok "add-task with a newline in the goal" "$BT" --mount "$M" add-task $'two\nlines'
assert_eq "... adds exactly one task, not two" "$((before + 1))" "$(task_count)"
assert_eq "... holding the whole goal" '"two\nlines"' \
    "$(jq -c .goal "$M/tasks/$OUT.json" 2>&1)"

# ---- Reading -----------------------------------------------------------------------

assert_ok "bt list-tasks" "$BT" --mount "$M" list-tasks
for i in 1 2 3 4 5 6; do
    assert_match "... lists task_00000$i" "task_00000$i" "$OUT"
done
assert_match "... with the goals" "bt goal two" "$OUT"
assert_match "... and their status" "queued" "$OUT"
assert_ok "bt list-tasks --count 2" "$BT" --mount "$M" list-tasks --count 2
assert_eq "... lists the last two" "task_000005 task_000006" \
    "$(grep -oE 'task_[0-9]{6}' <<<"$OUT" | paste -sd' ')"
assert_ok "bt --json list-tasks" "$BT" --mount "$M" --json list-tasks
assert_eq "... is an array of the six task documents" \
    "$(jq -s -c . "$M"/tasks/task_00000[1-6].json)" "$(jq -c . <<<"$OUT" 2>&1)"
bt_err "list-tasks --count 0 is refused" --mount "$M" list-tasks --count 0

for form in task_000002 000002 2; do
    assert_ok "bt get-task $form" "$BT" --mount "$M" get-task "$form"
    assert_match "... shows the goal" "bt goal two" "$OUT"
    assert_match "... and the skills" "recursion" "$OUT"
done
assert_ok "bt --json get-task" "$BT" --mount "$M" --json get-task task_000002
assert_eq "... equals the task file" "$(jq -S . "$M/tasks/task_000002.json")" \
    "$(jq -S . <<<"$OUT" 2>&1)"
bt_err "get-task of an unknown task fails" --mount "$M" get-task task_000999
assert_match "... naming it" "task_000999|999" "$ERR"
bt_err "get-task of a malformed id fails" --mount "$M" get-task banana

for cmd in get-profile get-skills get-trend status; do
    assert_ok "bt $cmd" "$BT" --mount "$M" "$cmd"
    run "$BT" --mount "$M" --json "$cmd"
    if [ "$RC" -eq 0 ] && jq -e . >/dev/null 2>&1 <<<"$OUT"; then
        pass "bt --json $cmd prints JSON"
    else
        fail "bt --json $cmd prints JSON" "exit $RC" "stdout: $OUT" "stderr: $ERR"
    fi
done
assert_eq "bt --json get-profile equals core/builder_profile.json" \
    "$(jq -S . "$M/core/builder_profile.json")" \
    "$("$BT" --mount "$M" --json get-profile | jq -S .)"
assert_ok "bt status" "$BT" --mount "$M" status
# No builders run in this test, so the state says so.
assert_match "... says stalled" "state: +stalled" "$OUT"
assert_match "... and the queue depth 6" "queue depth: +6" "$OUT"

# ---- pause / resume -----------------------------------------------------------------

assert_ok "bt pause" "$BT" --mount "$M" pause
assert_eq "... prints paused" paused "$OUT"
assert_eq "... control reads paused" paused "$(cat "$M/control")"
assert_ok "bt status after pause" "$BT" --mount "$M" status
assert_match "... says paused" "paused" "$OUT"
assert_ok "bt resume" "$BT" --mount "$M" resume
assert_eq "... prints running" running "$OUT"
assert_eq "... control reads running" running "$(cat "$M/control")"

# ---- Usage errors ---------------------------------------------------------------------

assert_exit "an unknown command exits 2" 2 "$BT" --mount "$M" frobnicate
assert_match "... with a 'bt: ' message" '^bt: ' "$ERR"
assert_exit "an unknown option exits 2" 2 "$BT" --mount "$M" status --bogus
assert_ok "bt --help exits 0" "$BT" --help
assert_match "... and lists add-task" "add-task" "$OUT"

# ---- A stale mount ----------------------------------------------------------------------

kill9_btfs
bt_err "bt status on a stale mount (btfs killed) fails" --mount "$M" status
assert_no_match "... without hanging or crashing" "Segmentation|core dumped" "$ERR"
finish
