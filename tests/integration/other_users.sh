#!/bin/bash
# other_users.sh -- other users through an allow_other mount: with --group,
# a member of the group adds tasks and pauses through tasks/new and
# control; a user outside it reads but cannot write; without --group
# nobody else writes; a group that does not exist stops start-up. Needs
# root (it creates the users with useradd); skipped (77) where that is
# impossible.
. "${0%/*}/lib.sh" || exit 1

[ "$(id -u)" = 0 ] || skip "needs root to create users"
for c in useradd userdel groupadd groupdel runuser; do
    command -v "$c" >/dev/null || skip "$c is missing"
done

G="btit$$"          # the group, its member and an outsider
U_IN="btin$$"
U_OUT="btout$$"
groupadd "$G" || skip "groupadd failed"
useradd -M -N -g nogroup -G "$G" -s /bin/sh "$U_IN" || { groupdel "$G"; skip "useradd failed"; }
useradd -M -N -g nogroup -s /bin/sh "$U_OUT" || { userdel "$U_IN"; groupdel "$G"; skip "useradd failed"; }
trap 'rc=$?; userdel "$U_IN" 2>/dev/null; userdel "$U_OUT" 2>/dev/null;
      groupdel "$G" 2>/dev/null; (exit $rc); cleanup' EXIT
# The users must reach the mount: the test directory is private by default.
chmod 755 "$T"

# as USER CMD: runs a shell command line as USER.
as() {
    runuser -u "$1" -- sh -c "$2"
}

# ---- a group that does not exist ------------------------------------------------

assert_exit "--group with an unknown group stops start-up" 2 \
    "$BTFS" -f --data "$D" -o allow_other --group "nosuch$$" "$M"
assert_match "... naming the setting and the group" "BT_GROUP: no group named 'nosuch$$'" "$ERR"

# ---- without --group ---------------------------------------------------------------

start_btfs -o allow_other
assert_ok "allow_other: another user reads status.json" as "$U_OUT" "cat '$M/status.json'"
assert_fails "... but cannot add a task" as "$U_IN" "echo 'not allowed' > '$M/tasks/new'"
assert_match "... (permission denied)" "Permission denied" "$ERR"
assert_eq "... and none was added" 0 "$(task_count)"
stop_btfs

# ---- with --group ----------------------------------------------------------------

start_btfs -o allow_other --group "$G"
assert_eq "tasks/new belongs to the group and is group-writable" "$G rw-rw-r--" \
    "$(stat -c '%G %A' "$M/tasks/new" | sed 's/^\(.*\) -/\1 /')"
assert_eq "... as is control" "$G rw-rw-r--" \
    "$(stat -c '%G %A' "$M/control" | sed 's/^\(.*\) -/\1 /')"
assert_ok "a member of the group adds a task" as "$U_IN" "echo 'from a member' > '$M/tasks/new'"
assert_eq "... which is stored" "from a member" "$(jq -r .goal "$M/tasks/task_000001.json")"
assert_ok "... reads its id back on the same open file" \
    as "$U_IN" "exec 3<>'$M/tasks/new'; echo 'second from a member' >&3; cat <&3"
assert_eq "... task_000002" task_000002 "$OUT"
assert_ok "a member pauses" as "$U_IN" "echo pause > '$M/control'"
assert_eq "... and btfs is paused" paused "$(cat "$M/control")"
assert_ok "a member resumes" as "$U_IN" "echo resume > '$M/control'"
assert_eq "... and it runs again" running "$(cat "$M/control")"
assert_ok "a member cancels a task" as "$U_IN" "echo 'cancel 2' > '$M/control'"
assert_eq "... which is cancelled" cancelled "$(jq -r .status "$M/tasks/task_000002.json")"
if as "$U_IN" "test -x '$BT'"; then
    assert_ok "a member uses bt add-task" as "$U_IN" "'$BT' --mount '$M' add-task 'via bt'"
    assert_eq "... task_000003" task_000003 "$OUT"
else
    echo "SKIP bt as another user: $BT is not reachable for $U_IN"
fi
assert_fails "a user outside the group cannot add a task" as "$U_OUT" "echo 'outsider' > '$M/tasks/new'"
assert_fails "... nor pause" as "$U_OUT" "echo pause > '$M/control'"
assert_eq "... and control still says running" running "$(cat "$M/control")"
assert_ok "... but reads every file" as "$U_OUT" "cat '$M/status.json' '$M/tasks/task_000001.json' >/dev/null"
assert_fails "a member still cannot write a read-only file" as "$U_IN" "echo x > '$M/status.json'"
stop_btfs

finish
