#!/bin/bash
# startup.sh -- what btfs refuses at start (missing or non-empty mountpoint,
# unusable data directory, bad settings, a second instance), what it accepts
# (.gitkeep, BT_DATA, .env), how it stops (SIGTERM, SIGINT: exit 0, mount
# gone) and the detached mode.
. "${0%/*}/lib.sh" || exit 1

# refused WHAT REGEX ARGS...: btfs ARGS must exit 2 at once with a message
# matching REGEX on stderr, and mount nothing.
refused() {
    local what=$1 re=$2
    shift 2
    run timeout 10 "$BTFS" "$@"
    if [ "$RC" -eq 2 ]; then
        pass "$what: exit 2"
    else
        fail "$what: exit 2" "command: btfs $*" "got exit $RC" "stderr: $ERR"
    fi
    assert_match "... with a message naming the problem" "$re" "$ERR"
    assert_match "... prefixed 'btfs: '" '^btfs: ' "$ERR"
}

# ---- Help and settings ------------------------------------------------------------

assert_ok "btfs --help exits 0" "$BTFS" --help
for w in --data -f BT_DATA BT_BUILDERS BT_TRAINER BT_LLM_URL MOUNTPOINT; do
    assert_match "--help mentions $w" "$w" "$OUT"
done
run "$BTFS"
assert_eq "btfs without a mountpoint exits 2" 2 "$RC"
assert_match "... and says what is missing" "[Mm]ountpoint|MOUNTPOINT|[Uu]sage" "$ERR$OUT"
refused "an unknown option" "bogus" --bogus-option "$M"
BT_BUILDERS=abc refused "BT_BUILDERS=abc" BT_BUILDERS -f --data "$D" "$M"
BT_TRAINER=7 refused "BT_TRAINER=7" BT_TRAINER -f --data "$D" "$M"

# ---- Mountpoint -------------------------------------------------------------------

refused "a missing mountpoint" "$T/nowhere.*(does not exist|No such)" \
    -f --data "$D" "$T/nowhere"
refused "a missing mountpoint, detached" "$T/nowhere" --data "$D" "$T/nowhere"
touch "$T/plainfile"
refused "a mountpoint that is a file" "$T/plainfile.*not a directory" \
    -f --data "$D" "$T/plainfile"
mkdir "$T/full"
echo hi >"$T/full/somefile"
refused "a non-empty mountpoint" "$T/full.*not empty" -f --data "$D" "$T/full"
assert_match "... naming what it holds" somefile "$ERR"
mkdir "$T/gk2"
touch "$T/gk2/.gitkeep" "$T/gk2/.hidden"
refused "a mountpoint with .gitkeep and another file" "not empty" \
    -f --data "$D" "$T/gk2"
assert_fails "nothing was mounted by the refusals" \
    sh_c "grep -q ' $T/' /proc/mounts"
assert_eq "... and the refused mountpoint keeps its file" hi "$(cat "$T/full/somefile")"

touch "$M/.gitkeep"
if start_btfs; then
    pass "a mountpoint holding only .gitkeep is accepted"
else
    fail "a mountpoint holding only .gitkeep is accepted"
fi
stop_btfs TERM
assert_eq "SIGTERM: btfs exits 0" 0 "$BTFS_RC"
assert_fails "SIGTERM: the mount is gone from /proc/mounts" is_mounted "$M"
assert_eq "... and .gitkeep is still there underneath" ".gitkeep" "$(ls -A "$M")"

# ---- Data directory ---------------------------------------------------------------

echo "not a directory" >"$T/datafile"
refused "a regular file as --data" "$T/datafile" -f --data "$T/datafile" "$M"
refused "--data under a regular file" "$T/datafile" -f --data "$T/datafile/sub" "$M"
assert_eq "... and the file is untouched" "not a directory" "$(cat "$T/datafile")"

mkdir -p "$T/deep"
launch_btfs "$M" -f --data "$T/deep/a/b" "$M"
assert_ok "a missing --data directory is created" test -d "$T/deep/a/b"
assert_match "... and config.json shows it" "$T/deep/a/b" "$(cat "$M/config.json")"
stop_btfs INT
assert_eq "SIGINT: btfs exits 0" 0 "$BTFS_RC"
assert_fails "SIGINT: the mount is gone from /proc/mounts" is_mounted "$M"

BT_DATA="$T/envdata" launch_btfs "$M" -f "$M"
assert_ok "BT_DATA is used without --data" test -d "$T/envdata"
assert_ok "... and holds files" sh_c "[ -n \"\$(ls -A '$T/envdata')\" ]"
echo "env data goal" >"$M/tasks/new"
stop_btfs TERM
echo "BT_DATA=$T/dotenv" >"$T/.env"
launch_btfs "$M" -f "$M"
assert_ok "BT_DATA from ./.env is used" test -d "$T/dotenv"
assert_eq "... (a fresh store: no tasks)" 0 "$(task_count)"
stop_btfs TERM
BT_DATA="$T/envdata" launch_btfs "$M" -f "$M"
assert_eq "the environment wins over .env" "env data goal" "$(all_goals)"
stop_btfs TERM
launch_btfs "$M" -f --data "$T/envdata" "$M"
assert_eq "--data wins over .env" "env data goal" "$(all_goals)"
stop_btfs TERM
rm "$T/.env"

# ---- One btfs per data directory and per mountpoint ---------------------------------

start_btfs
echo "first instance" >"$M/tasks/new"
mkdir "$T/mnt2"
refused "a second btfs on the same data directory" "in use|another btfs|locked|already" \
    -f --data "$D" "$T/mnt2"
assert_fails "... mounted nothing" is_mounted "$T/mnt2"
refused "a second btfs on the same mountpoint" "$M|already mounted" \
    -f --data "$T/data2" "$M"
refused "a second btfs on the same data directory, detached" \
    "in use|another btfs|locked|already" --data "$D" "$T/mnt2"
assert_eq "the first btfs still serves its mount" "first instance" "$(all_goals)"
stop_btfs TERM
assert_eq "... and stops with exit 0" 0 "$BTFS_RC"
start_btfs
pass "after a clean stop the data directory is free again"
stop_btfs TERM

# ---- Detached mode ------------------------------------------------------------------

assert_ok "btfs without -f returns once mounted" timeout 10 "$BTFS" --data "$D" "$M"
assert_match "... saying where the mount is" "^btfs: mounted at $M \\(data in " "$ERR"
assert_match "... how to add a task" "> $M/tasks/new" "$ERR"
assert_match "... how to watch" "bt --mount $M watch; tail -f $M/logs/system.log" "$ERR"
assert_match "... and how to stop" "fusermount3 -u $M\$" "$ERR"
assert_ok "... the mount is there when it returns" is_mounted "$M"
assert_eq "... and serves at once" "first instance" "$(all_goals)"
daemon=""
for p in /proc/[0-9]*; do
    if tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF -- "$M"; then
        daemon=${p#/proc/}
    fi
done
if [ -n "$daemon" ]; then
    EXTRA_PIDS+=("$daemon")
    pass "the detached btfs runs as pid $daemon"
else
    fail "the detached btfs runs"
fi
kill -TERM "$daemon"
for ((i = 0; i < 100; i++)); do
    kill -0 "$daemon" 2>/dev/null || break
    sleep 0.1
done
assert_fails "the detached btfs exits on SIGTERM" kill -0 "$daemon"
assert_fails "... and its mount is gone" is_mounted "$M"
start_btfs
pass "... and the data directory is free again"
stop_btfs TERM
assert_eq "a last SIGTERM: exit 0" 0 "$BTFS_RC"
finish
