# lib.sh -- what every integration test shares: a temporary directory, a
# real btfs mounted in it, checks that print one line each, and cleanup.
#
# Sourced by tests/integration/*.sh, which meson runs with BTFS (the btfs
# binary), BT (the bt binary), SRCDIR and FAKELLM set. A script calls
# start_btfs, drives the mount with ordinary tools, records checks with the
# assert_* helpers and ends with finish, which prints "N passed, M failed".
# Scripts that run the agents also take from here the fake LLM (start,
# stop, rules, a second one for a teacher) and the waits on tasks, sets and
# status.json, so that each is written once.
#
# Exit status: 0 all checks passed, 1 a check failed or the script broke
# off, 77 skipped (no /dev/fuse, fusermount3, jq or python3: the same rule
# as libfuse's own tests).

set -euo pipefail
set -E      # the ERR trap fires inside functions too

: "${BTFS:?set BTFS to the btfs binary}"
: "${BT:?set BT to the bt binary}"

skip() {
    echo "SKIP: $*"
    exit 77
}

[ -c /dev/fuse ] || skip "/dev/fuse is missing"
command -v fusermount3 >/dev/null || skip "fusermount3 is missing"
command -v jq >/dev/null || skip "jq is missing"
command -v python3 >/dev/null || skip "python3 is missing"
[ -x "$BTFS" ] || { echo "BTFS=$BTFS is not executable"; exit 1; }
[ -x "$BT" ] || { echo "BT=$BT is not executable"; exit 1; }

# Nothing from the caller's environment may steer btfs or bt: the test
# decides every setting. Agents start only in the tests that want them.
for v in $(env | sed -n 's/^\(BT_[A-Za-z0-9_]*\)=.*/\1/p'); do
    unset "$v"
done
export BT_BUILDERS=0 BT_TRAINER=0
export LC_ALL=C.UTF-8
# In a sanitizer build, undefined behaviour must fail the test, not just
# print a line nobody reads.
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

T=$(mktemp -d /tmp/btfs-it.XXXXXX)
T=$(realpath "$T")
M="$T/mountpoint"       # the mount ("./mountpoint" as seen from $T)
D="$T/data"             # the data directory
LOG="$T/btfs.log"       # output of every btfs this script started
mkdir "$M"
# btfs reads ./.env; the test's working directory holds none.
cd "$T"

PASSED=0
FAILED=0
BTFS_PID=""             # the btfs started by start_btfs, while it runs
BTFS_RC=""              # its exit status, after stop_btfs / wait_btfs_exit
FINISHED=0
EXTRA_PIDS=()           # other processes a script started; cleanup ends them

# ---- Checks -----------------------------------------------------------------

pass() {
    PASSED=$((PASSED + 1))
    echo "ok   $*"
}

# fail WHAT [DETAIL...]: records a failed check; details go on their own
# lines so that a long output stays readable.
fail() {
    FAILED=$((FAILED + 1))
    echo "FAIL $1"
    shift
    local d
    for d in "$@"; do
        printf '%s\n' "$d" | sed 's/^/     | /' | head -n 40
    done
}

# assert_eq WHAT EXPECTED ACTUAL
assert_eq() {
    if [ "$2" == "$3" ]; then
        pass "$1"
    elif [[ "$2$3" == *$'\n'* ]]; then
        fail "$1" "expected (-) and got (+):" \
            "$(diff <(printf '%s\n' "$2") <(printf '%s\n' "$3") | grep '^[<>]' |
               sed 's/^</-/; s/^>/+/')"
    else
        fail "$1" "expected: $2" "got:      $3"
    fi
}

# assert_match WHAT REGEX TEXT  (extended regex, grep -E, anywhere in TEXT).
# TEXT goes in as a here-string, not through a pipe: under pipefail a
# `printf | grep -q` that matched could still fail when grep leaves before
# printf has written everything (SIGPIPE).
assert_match() {
    if grep -Eq -- "$2" <<<"$3"; then
        pass "$1"
    else
        fail "$1" "expected to match: $2" "got: $3"
    fi
}

# assert_no_match WHAT REGEX TEXT
assert_no_match() {
    if grep -Eq -- "$2" <<<"$3"; then
        fail "$1" "expected not to match: $2" "got: $3"
    else
        pass "$1"
    fi
}

# assert_ok WHAT CMD...: CMD must exit 0. Its output is kept in $OUT (stdout)
# and $ERR (stderr) for further checks.
OUT=""
ERR=""
RC=0
run() {
    RC=0
    "$@" >"$T/.out" 2>"$T/.err" || RC=$?
    OUT=$(cat "$T/.out")
    ERR=$(cat "$T/.err")
}

assert_ok() {
    local what=$1
    shift
    run "$@"
    if [ "$RC" -eq 0 ]; then
        pass "$what"
    else
        fail "$what" "command: $*" "expected exit 0, got $RC" \
            "stdout: $OUT" "stderr: $ERR"
    fi
}

# assert_fails WHAT CMD...: CMD must exit non-zero (output in $OUT/$ERR).
assert_fails() {
    local what=$1
    shift
    run "$@"
    if [ "$RC" -ne 0 ]; then
        pass "$what"
    else
        fail "$what" "command: $*" "expected a non-zero exit, got 0" \
            "stdout: $OUT" "stderr: $ERR"
    fi
}

# assert_exit WHAT CODE CMD...: CMD must exit with CODE.
assert_exit() {
    local what=$1 code=$2
    shift 2
    run "$@"
    if [ "$RC" -eq "$code" ]; then
        pass "$what"
    else
        fail "$what" "command: $*" "expected exit $code, got $RC" \
            "stdout: $OUT" "stderr: $ERR"
    fi
}

# sh_c CMD: runs a shell command line (for redirections such as
# "echo x > file"), so that assert_ok / assert_fails can wrap it.
sh_c() {
    bash -c "$1"
}

# ---- The mount --------------------------------------------------------------

# is_mounted DIR: whether /proc/mounts lists DIR (stale mounts included).
is_mounted() {
    awk -v m="$1" '$2 == m { f = 1 } END { exit !f }' /proc/mounts
}

# start_btfs [OPTIONS...]: starts "$BTFS -f --data $D OPTIONS... $M" in the
# background and waits until it serves the mount (see launch_btfs).
start_btfs() {
    launch_btfs "$M" -f --data "$D" "$@" "$M"
}

# launch_btfs MNT ARGS...: starts "$BTFS ARGS..." in the background (output
# appended to $LOG) and waits, at most 10 s, until MNT is listed in
# /proc/mounts and MNT/status.json reads. Sets BTFS_PID. Returns 1, after
# printing the log, if btfs exits or does not mount in time. SIGINT is
# restored to its default first: a shell without job control starts
# background commands with it ignored, and libfuse then leaves it so.
launch_btfs() {
    local mnt=$1 i
    shift
    echo "---- start: btfs $*" >>"$LOG"
    (trap - INT QUIT; exec "$BTFS" "$@") >>"$LOG" 2>&1 &
    BTFS_PID=$!
    BTFS_RC=""
    for ((i = 0; i < 100; i++)); do
        if ! kill -0 "$BTFS_PID" 2>/dev/null; then
            wait "$BTFS_PID" && BTFS_RC=0 || BTFS_RC=$?
            BTFS_PID=""
            echo "btfs exited with $BTFS_RC before mounting; its log:"
            sed 's/^/     | /' "$LOG" | tail -n 20
            return 1
        fi
        if is_mounted "$mnt" && cat "$mnt/status.json" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    echo "btfs did not mount $mnt within 10 s; its log:"
    sed 's/^/     | /' "$LOG" | tail -n 20
    return 1
}

# wait_btfs_exit [SECONDS]: waits (default 10 s) for the running btfs to
# exit; sets BTFS_RC (124 if it did not exit in time).
wait_btfs_exit() {
    local limit=$((${1:-10} * 10)) i
    for ((i = 0; i < limit; i++)); do
        kill -0 "$BTFS_PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$BTFS_PID" 2>/dev/null; then
        BTFS_RC=124
        return 0
    fi
    wait "$BTFS_PID" && BTFS_RC=0 || BTFS_RC=$?
    BTFS_PID=""
}

# stop_btfs [SIGNAL]: sends SIGNAL (default TERM) to the running btfs and
# waits for it; BTFS_RC holds its exit status.
stop_btfs() {
    kill "-${1:-TERM}" "$BTFS_PID"
    wait_btfs_exit 10
}

# kill9_btfs: kills the running btfs with SIGKILL, leaving its mount stale.
kill9_btfs() {
    kill -9 "$BTFS_PID"
    wait "$BTFS_PID" 2>/dev/null || true
    BTFS_PID=""
}

# ---- Helpers over the tree --------------------------------------------------

# task_count: number of tasks/task_NNNNNN.json files.
task_count() {
    local n
    n=$(ls "$M/tasks" | grep -cE '^task_[0-9]{6,}\.json$' || true)
    echo "$n"
}

# task_ids: the task ids, one a line, in numeric order.
task_ids() {
    ls "$M/tasks" | sed -nE 's/^(task_[0-9]{6,})\.json$/\1/p' |
        sort -t_ -k2,2n
}

# all_goals: the goal of every task, one a line (goals hold no newline).
all_goals() {
    local files=("$M"/tasks/task_[0-9]*.json)
    [ -e "${files[0]}" ] || return 0
    jq -r .goal "${files[@]}"
}

# queue_ids: the ids listed in tasks/task_queue.json, in order. The entries
# may be ids or task objects; either way their ids are the strings that look
# like one.
queue_ids() {
    jq -r '[.. | strings | select(test("^task_[0-9]{6,}$"))] | .[]' \
        "$M/tasks/task_queue.json"
}

# ---- The fake LLM (tests/fakellm) -------------------------------------------

FAKE_PID=""

# need_fake: the scripts that drive the fake LLM need it and curl (to give
# it rules and read what it was asked); skips without curl.
need_fake() {
    : "${FAKELLM:?set FAKELLM to the fakellm binary}"
    command -v curl >/dev/null || skip "curl is missing"
}

# need_sandbox: skips where bubblewrap cannot create namespaces (the
# Builder then refuses to start, so its tests have nothing to see).
need_sandbox() {
    bwrap --unshare-all --ro-bind / / true 2>/dev/null ||
        skip "bubblewrap cannot create namespaces here"
}

# spawn_fake PORT NAME: starts a fake OpenAI server on 127.0.0.1 (on PORT,
# or any free port for 0), output to $T/fake.log, and waits (at most 10 s)
# for its port file $T/NAME.port. Sets SPAWNED_PID, SPAWNED_PORT and
# SPAWNED_URL (the /v1 base). Cleanup stops it; stop_pid stops it sooner.
spawn_fake() {
    local i
    : "${FAKELLM:?set FAKELLM to the fakellm binary}"
    rm -f "$T/$2.port"
    "$FAKELLM" --port "$1" --port-file "$T/$2.port" >>"$T/fake.log" 2>&1 &
    SPAWNED_PID=$!
    EXTRA_PIDS+=("$SPAWNED_PID")
    for ((i = 0; i < 100; i++)); do
        [ -s "$T/$2.port" ] && break
        sleep 0.1
    done
    SPAWNED_PORT=$(cat "$T/$2.port")
    SPAWNED_URL="http://127.0.0.1:$SPAWNED_PORT/v1"
}

# stop_pid PID: asks a process this script started to stop, and waits.
stop_pid() {
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# start_fake [PORT]: starts the fake that btfs uses (spawn_fake), sets
# FAKE_PID, FAKE_PORT and FAKE_URL and exports BT_LLM_URL. Given the port
# of a fake stopped before, it comes back where btfs looks for it.
start_fake() {
    spawn_fake "${1:-0}" fake
    FAKE_PID=$SPAWNED_PID
    FAKE_PORT=$SPAWNED_PORT
    FAKE_URL=$SPAWNED_URL
    export BT_LLM_URL=$FAKE_URL
}

stop_fake() {
    stop_pid "$FAKE_PID"
}

# fake_rule JSON: appends one rule (or an array of them) to the fake.
fake_rule() {
    local out
    out=$(curl -s -d "$1" "http://127.0.0.1:$FAKE_PORT/fake/rules")
    [ "$out" = '{"ok":true}' ] || { echo "fake refused a rule: $out ($1)"; return 1; }
}

# fake_clear: removes every rule.
fake_clear() {
    curl -s -X DELETE "http://127.0.0.1:$FAKE_PORT/fake/rules" >/dev/null
}

# fake_reflection: a rule answering every reflection request (its prompt
# says "review your own work", which no code prompt does) with a valid
# one. Rules match in order, so add it before the code rules.
fake_reflection() {
    fake_rule '{"kind":"reply","match":"review your own work","content":"{\"summary\": \"computes the answer\", \"what_went_wrong\": \"\", \"lessons\": [\"check edge cases first\"], \"concepts\": [\"arithmetic\"]}"}'
}

# fake_answer CODE: a model's answer holding CODE in one python fence, as
# a JSON string.
fake_answer() {
    jq -Rs . <<<"Here is the solution:
\`\`\`python
$1
\`\`\`"
}

# fake_code MATCH CODE: a rule answering the requests that hold MATCH with
# CODE (fake_answer).
fake_code() {
    fake_rule "{\"kind\":\"reply\",\"match\":$(jq -Rn --arg m "$1" '$m'),\"content\":$(fake_answer "$2")}"
}

# ---- Tasks as the agents work them ----------------------------------------

# add_task LINE: writes one task line to tasks/new.
add_task() {
    printf '%s\n' "$1" >"$M/tasks/new"
}

# task_field ID FILTER: a jq filter over tasks/ID.json.
task_field() {
    jq -r "$2" "$M/tasks/$1.json"
}

# wait_status ID STATUS SECONDS: until task ID has STATUS; says what it has
# instead when the time is up. A deadline rather than a count of polls:
# jq is slow on a loaded machine.
wait_status() {
    local end=$((SECONDS + $3))
    while [ "$SECONDS" -lt "$end" ]; do
        [ "$(task_field "$1" .status 2>/dev/null)" = "$2" ] && return 0
        sleep 0.2
    done
    echo "task $1 is $(task_field "$1" .status 2>/dev/null), not $2, after $3 s"
    return 1
}

# wait_json FILTER SECONDS [SHOW]: until the jq filter is true of
# status.json; when the time is up, prints what the jq filter SHOW picks
# from it (default: the state and the LLM's part).
wait_json() {
    local end=$((SECONDS + $2)) show='{state, llm}'
    [ -n "${3:-}" ] && show=$3
    while [ "$SECONDS" -lt "$end" ]; do
        [ "$(jq -r "$1" "$M/status.json" 2>/dev/null)" = true ] && return 0
        sleep 0.2
    done
    echo "status.json: $(jq -c "$show" "$M/status.json" 2>&1)"
    return 1
}

# wait_log REGEX SECONDS: until logs/system.log has a line matching the
# extended regex (the monitor writes on its own beat, after status.json
# already shows the change).
wait_log() {
    local end=$((SECONDS + $2))
    while [ "$SECONDS" -lt "$end" ]; do
        grep -qE -- "$1" "$M/logs/system.log" 2>/dev/null && return 0
        sleep 0.2
    done
    echo "no line of logs/system.log matches: $1"
    return 1
}

# wait_set SET N SECONDS: until N tasks of benchmark set SET are finished.
wait_set() {
    local end=$((SECONDS + $3))
    while [ "$SECONDS" -lt "$end" ]; do
        [ "$(jq -r .finished "$M/eval/$1.json" 2>/dev/null)" = "$2" ] && return 0
        sleep 0.1
    done
    echo "set $1: $(jq -c '{finished, queued, running}' "$M/eval/$1.json" 2>&1)"
    return 1
}

# ---- Cleanup ----------------------------------------------------------------

on_error() {
    echo "ERROR: line $1: command failed (exit $2): $3"
}
trap 'on_error "$LINENO" "$?" "$BASH_COMMAND"' ERR

cleanup() {
    local rc=$?
    set +e
    trap - ERR
    trap '' PIPE    # a reader of our output that went away must not stop us
    if [ -n "$BTFS_PID" ] && kill -0 "$BTFS_PID" 2>/dev/null; then
        kill -TERM "$BTFS_PID"
        for ((i = 0; i < 50; i++)); do
            kill -0 "$BTFS_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$BTFS_PID" 2>/dev/null
        wait "$BTFS_PID" 2>/dev/null
    fi
    local p
    for p in "${EXTRA_PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null && sleep 0.5
        kill -9 "$p" 2>/dev/null
    done
    # Anything this script mounted under $T, deepest first.
    local m
    for m in $(awk -v t="$T/" 'index($2, t) == 1 { print $2 }' /proc/mounts |
               sort -r); do
        fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
    done
    if [ "$FINISHED" != 1 ]; then
        FAILED=$((FAILED + 1))
        echo "FAIL the script broke off (exit $rc) before its end"
        echo "$PASSED passed, $FAILED failed"
        rc=1
    fi
    if [ "$rc" != 0 ] && [ -s "$LOG" ]; then
        echo "---- btfs log ($LOG):"
        tail -n 80 "$LOG" | sed 's/^/     | /'
    fi
    cd /
    if awk -v t="$T/" 'index($2, t) == 1 { f = 1 } END { exit !f }' \
           /proc/mounts; then
        echo "left $T in place: something is still mounted under it"
    else
        rm -rf "$T"
    fi
    exit "$rc"
}
trap cleanup EXIT

# finish: prints the summary and exits 0 if every check passed, else 1.
finish() {
    # ThreadSanitizer reports races as WARNINGs and goes on running.
    if grep -qE 'runtime error:|ERROR: [A-Za-z]+Sanitizer|LeakSanitizer|WARNING: ThreadSanitizer' "$LOG" 2>/dev/null; then
        fail "btfs's log holds no sanitizer report" \
            "$(grep -E -A5 'runtime error:|Sanitizer' "$LOG" | head -n 30)"
    else
        pass "btfs's log holds no sanitizer report"
    fi
    FINISHED=1
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ] && exit 0
    exit 1
}
