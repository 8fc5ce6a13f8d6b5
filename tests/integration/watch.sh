#!/bin/bash
# watch.sh -- following and steering the work on a real mount: events.jsonl
# line by line and through tail -f | jq, bt logs (-f, --task, --json),
# cancel of queued tasks (bt cancel by id, --set, --source, and control's
# "cancel ID"), the honest state, bt watch in a pseudo-terminal and in plain
# mode, both SVG pictures parsed as XML; then, with the fake LLM and the
# sandbox, a running task cancelled at its next step, the pictures and the
# sparkline with results in them.
. "${0%/*}/lib.sh" || exit 1

export BT_SEED=0
C="$M/control"

# events_ok FILE: every line is a JSON object with time, kind, task, fields.
events_ok() {
    local n=0 line
    while IFS= read -r line; do
        n=$((n + 1))
        jq -e 'type == "object" and (.time | test("^[0-9]{4}-")) and
               (.kind | type == "string") and has("task") and
               (.fields | type == "object") and (.message | type == "string")' \
            <<<"$line" >/dev/null || { echo "line $n: $line"; return 1; }
    done <"$1"
    [ "$n" -gt 0 ] || { echo "no lines"; return 1; }
}

# svg_check FILE XPATH...: FILE parses as XML, its root is an svg element,
# and each XPATH (ElementTree syntax, svg namespace as "s:") finds something.
svg_check() {
    python3 - "$@" <<'EOF'
import sys, xml.etree.ElementTree as ET
ns = {"s": "http://www.w3.org/2000/svg"}
root = ET.parse(sys.argv[1]).getroot()
if root.tag != "{http://www.w3.org/2000/svg}svg":
    sys.exit("root is %s" % root.tag)
for q in sys.argv[2:]:
    if not root.findall(q, ns):
        sys.exit("nothing matches " + q)
EOF
}

status_of() {
    jq -r .status "$M/tasks/$1.json"
}

# wait_for_status ID STATUS SECONDS
wait_for_status() {
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        [ "$(status_of "$1" 2>/dev/null)" = "$2" ] && return 0
        sleep 0.1
    done
    echo "$1 is $(status_of "$1"), not $2, after $3 s"
    return 1
}

start_btfs

# ---- the honest state ----------------------------------------------------------

assert_eq "no builders: status.json says stalled" stalled "$(jq -r .state "$M/status.json")"
assert_match "... and why" "no builders \(BT_BUILDERS=0\)" "$(jq -r .reason "$M/status.json")"
assert_ok "bt status" "$BT" --mount "$M" status
assert_match "... shows the reason" "reason: +no builders" "$OUT"
assert_match "... and the result counts" "results: +0 passed, 0 failed, 0 error" "$OUT"
assert_eq "the profile names the configured model before any result" \
    deepseek-coder-7b-instruct "$(jq -r .model "$M/core/builder_profile.json")"

# ---- events.jsonl ----------------------------------------------------------------

for g in alpha beta gamma; do echo "watch goal $g" >"$M/tasks/new"; done
echo '{"goal": "set goal one", "set": "bench-x"}' >"$M/tasks/new"
echo '{"goal": "set goal two", "set": "bench-x"}' >"$M/tasks/new"
assert_ok "events.jsonl: every line is an event object" events_ok "$M/logs/events.jsonl"
assert_eq "... one per line of system.log" "$(wc -l <"$M/logs/system.log")" \
    "$(wc -l <"$M/logs/events.jsonl")"
assert_eq "... tasks_queued events name their task" \
    "task_000001 task_000002 task_000003 task_000004 task_000005" \
    "$(jq -r 'select(.kind == "tasks_queued") | .task' "$M/logs/events.jsonl" | xargs)"
assert_eq "ls -l size is exact" "$(stat -c %s "$M/logs/events.jsonl")" \
    "$(wc -c <"$M/logs/events.jsonl")"

tail -n 0 -f "$M/logs/events.jsonl" >"$T/tail.out" 2>&1 &
TAIL=$!
EXTRA_PIDS+=("$TAIL")
sleep 0.5
echo "followed goal" >"$M/tasks/new"
for ((i = 0; i < 50; i++)); do grep -q task_000006 "$T/tail.out" && break; sleep 0.1; done
kill "$TAIL" 2>/dev/null; wait "$TAIL" 2>/dev/null || true
assert_eq "tail -f events.jsonl | jq sees a new event as it happens" task_000006 \
    "$(jq -r 'select(.kind == "tasks_queued") | .task' "$T/tail.out" 2>&1)"

# ---- bt logs -----------------------------------------------------------------------

assert_ok "bt logs" "$BT" --mount "$M" logs
assert_eq "... prints system.log" "$(cat "$M/logs/system.log")" "$OUT"
assert_ok "bt logs --json" "$BT" --mount "$M" --json logs
assert_eq "... prints events.jsonl" "$(cat "$M/logs/events.jsonl")" "$OUT"
assert_ok "bt logs --task 2" "$BT" --mount "$M" logs --task 2
assert_eq "... only that task's lines" 1 "$(grep -c . <<<"$OUT")"
assert_match "... naming it" "queued task_000002$" "$OUT"
assert_exit "bt logs --task bogus is a usage error" 2 "$BT" --mount "$M" logs --task bogus

"$BT" --mount "$M" logs -f --task 7 >"$T/follow.out" 2>&1 &
FOLLOW=$!
EXTRA_PIDS+=("$FOLLOW")
sleep 0.5
echo "goal seven" >"$M/tasks/new"
for ((i = 0; i < 50; i++)); do grep -q task_000007 "$T/follow.out" && break; sleep 0.1; done
assert_match "bt logs -f prints a line added after it started" "queued task_000007" \
    "$(cat "$T/follow.out")"
kill -INT "$FOLLOW"
wait "$FOLLOW" && RC=0 || RC=$?
assert_eq "... and ends cleanly on Ctrl-C" 0 "$RC"

# ---- cancel queued tasks --------------------------------------------------------------

assert_ok "bt cancel 1" "$BT" --mount "$M" cancel 1
assert_eq "... says so" "task_000001 cancelled" "$OUT"
assert_eq "... the task is cancelled" cancelled "$(status_of task_000001)"
assert_match "... with the reason" "cancelled by control" \
    "$(jq -r .result.reason "$M/tasks/task_000001.json")"
assert_no_match "... and off the queue" task_000001 "$(queue_ids)"
assert_ok "echo 'cancel task_000002' > control" sh_c "echo 'cancel task_000002' > '$C'"
assert_eq "... cancels it too" cancelled "$(status_of task_000002)"
assert_eq "events.jsonl has a task_cancelled event for each" "task_000001 task_000002" \
    "$(jq -r 'select(.kind == "task_cancelled") | .task' "$M/logs/events.jsonl" | xargs)"
assert_fails "cancel of a task that does not exist fails" sh_c "echo 'cancel 999' > '$C'"
assert_fails "... as does 'cancel' with no task" sh_c "echo cancel > '$C'"
assert_fails "... and 'cancel 3 x', which cancels nothing" sh_c "echo 'cancel 3 x' > '$C'"
assert_eq "... task_000003 is still queued" queued "$(status_of task_000003)"
assert_fails "bt cancel of a cancelled task fails" "$BT" --mount "$M" cancel 1
assert_match "... saying it is left as it is" "task_000001 is cancelled already" "$ERR"
assert_fails "bt cancel of an unknown task fails" "$BT" --mount "$M" cancel 4242
assert_match "... by name" "no task task_004242" "$ERR"
assert_exit "bt cancel with nothing to cancel is a usage error" 2 "$BT" --mount "$M" cancel
assert_ok "bt cancel --set bench-x" "$BT" --mount "$M" --json cancel --set bench-x
assert_eq "... cancels the set's queued tasks" '["task_000004","task_000005"]' \
    "$(jq -c .cancelled <<<"$OUT")"
assert_eq "... and only those" queued "$(status_of task_000003)"
assert_ok "bt cancel --source user" "$BT" --mount "$M" cancel --source user
assert_eq "... cancels the rest of the user's queue" \
    "task_000003 cancelled
task_000006 cancelled
task_000007 cancelled" "$OUT"
assert_eq "... and the queue is empty" 0 "$(jq length "$M/tasks/task_queue.json")"
assert_exit "bt cancel --source nobody is a usage error" 2 "$BT" --mount "$M" cancel --source nobody

# A task's benchmark "set" (DESIGN.md) gets a line of its own in the
# trend picture.
SET=', "set": "sq"'

# ---- bt watch ---------------------------------------------------------------------------

assert_ok "bt watch --count 2 when not on a terminal" "$BT" --mount "$M" watch --count 2
assert_eq "... prints two plain lines" 2 "$(grep -c '^20' <<<"$OUT")"
assert_match "... with the state, queue, results and sandbox" \
    "state=stalled queue=0 results=\[0 passed, 0 failed, 0 error\] sandbox=" "$OUT"
assert_no_match "... and no terminal escapes" $'\e' "$OUT"
assert_ok "bt --json watch --count 1" "$BT" --mount "$M" --json watch --count 1
assert_eq "... prints one JSON object with the status" stalled "$(jq -r .status.state <<<"$OUT" 2>&1)"

# pty_watch KEY: bt watch in a pseudo-terminal for 2.5 s, then KEY typed
# (q, or \x03 for Ctrl-C, which the terminal turns into SIGINT).
pty_watch() {
python3 - "$BT" "$M" "$1" <<'EOF'
import fcntl, os, pty, re, select, struct, sys, termios, time
pid, fd = pty.fork()
if pid == 0:
    os.environ["TERM"] = "xterm"
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 60, 0, 0))
    os.execv(sys.argv[1], [sys.argv[1], "--mount", sys.argv[2], "watch"])
out = b""
def drain(t):
    global out
    end = time.time() + t
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                out += os.read(fd, 65536)
            except OSError:
                return
drain(2.5)
os.write(fd, sys.argv[3].encode().decode("unicode_escape").encode())
drain(1.0)
done = 0
for _ in range(30):         # the pty closes a moment before the exit
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        break
    time.sleep(0.1)
if not done:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    print("did not exit on q")
else:
    print("exit", os.waitstatus_to_exitcode(status))
text = out.decode("utf-8", "replace")
print("alt-screen" if "\x1b[?1049h" in text and "\x1b[?1049l" in text else "no alt-screen")
print("refreshes", text.count("bt watch --"))
plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)
print("widest", max(len(l) for l in plain.replace("\r", "").split("\n")))
for word in ("state", "queue", "results", "llm", "sandbox", "trainer", "builders", "last results"):
    print("has", word, word in text)
EOF
}
pty_watch q >"$T/pty.out" 2>&1
PTY=$(cat "$T/pty.out")
assert_match "bt watch in a terminal exits 0 on q" "^exit 0$" "$PTY"
assert_match "... uses its own screen and gives it back" "^alt-screen$" "$PTY"
assert_match "... refreshes in place (at least twice in 2.5 s)" "^refreshes [2-9]" "$PTY"
assert_match "... cuts its lines to the terminal's 60 columns" "^widest ([1-5][0-9]|60)$" "$PTY"
assert_no_match "... shows state, queue, results, llm, sandbox, trainer, builders, last results" \
    "has .* False" "$PTY"
pty_watch '\x03' >"$T/pty.out" 2>&1
PTY=$(cat "$T/pty.out")
assert_match "bt watch in a terminal exits 0 on Ctrl-C" "^exit 0$" "$PTY"
assert_match "... and gives the screen back" "^alt-screen$" "$PTY"

# ---- the pictures (no results yet) ---------------------------------------------------------

assert_ok "core/score_trend.svg parses as SVG" svg_check "$M/core/score_trend.svg" "s:title" "s:text[@id='empty']"
assert_ok "core/skill_map.svg parses as SVG" svg_check "$M/core/skill_map.svg" "s:title" "s:text[@id='empty']"
assert_eq "... ls -l sizes are exact" "$(stat -c %s "$M/core/score_trend.svg")" \
    "$(wc -c <"$M/core/score_trend.svg")"
stop_btfs

# ---- cancel by a source other than the user's ----------------------------------------------
# With no LLM (nothing listens on port 1) the Trainer queues tasks from the
# seed curriculum at once, with source "seed". A store of its own, so that
# none of these tasks is left for the Builder below.
MAIN_DATA=$D
D=$T/data-seed
BT_TRAINER=1 BT_LLM_URL=http://127.0.0.1:1/v1 start_btfs
# Its id as btfs gives it back: the Trainer may queue one after it.
USER_TASK=$("$BT" --mount "$M" add-task "a user task beside the Trainer's")
seeded() { [ "$(jq '[.[] | select(.source == "seed")] | length' "$M/tasks/task_queue.json")" -gt 0 ]; }
for ((i = 0; i < 100; i++)); do seeded && break; sleep 0.1; done
assert_ok "the Trainer queued seed tasks" seeded
assert_ok "bt cancel --source seed" "$BT" --mount "$M" --json cancel --source seed
CANCELLED=$(jq -r '.cancelled[]' <<<"$OUT")
assert_match "... cancels some" "^task_" "$CANCELLED"
assert_eq "... each of them a cancelled seed task" "" \
    "$(for t in $CANCELLED; do jq -r 'select(.status != "cancelled" or .source != "seed") | .id' \
        "$M/tasks/$t.json"; done)"
assert_eq "... and not the user's" queued "$(status_of "$USER_TASK")"
stop_btfs
D=$MAIN_DATA

# ---- with the Builder: results, a running task cancelled ------------------------------------

if ! bwrap --unshare-all --ro-bind / / true 2>/dev/null; then
    echo "SKIP the part with the Builder: bubblewrap cannot create namespaces here"
    finish
fi
command -v curl >/dev/null || { echo "SKIP the part with the Builder: no curl"; finish; }

answer() {
    jq -Rs . <<<"Here:
\`\`\`python
$1
\`\`\`"
}
start_fake
fake_rule '{"kind":"reply","match":"review your own work","content":"{\"summary\": \"ok\", \"what_went_wrong\": \"\", \"lessons\": [\"x\"], \"concepts\": [\"y\"]}"}'
fake_rule "{\"kind\":\"reply\",\"match\":\"square(\",\"content\":$(answer 'def square(x):
    return x * x')}"
# A slow, wrong answer: the task is still running when the cancel comes.
fake_rule "{\"kind\":\"reply\",\"match\":\"slowcube(\",\"first_delay_ms\":4000,\"content\":$(answer 'def slowcube(x):
    return 0')}"
BT_BUILDERS=1 start_btfs
# The third goal is as long as a benchmark's prompt, on several lines:
# system.log names a task by the start of its goal only.
for k in 1 2 3; do
    goal="Write square(x), run $k."
    [ "$k" != 3 ] || goal="$goal\\n$(printf 'padmark %.0s' {1..400})"
    echo "{\"goal\": \"$goal\", \"skills\": [\"math\"]$SET, \"tests\": \"assert square(2) == 4\"}" >"$M/tasks/new"
done
LAST=$(task_ids | tail -n 1)
assert_ok "three tasks pass" wait_for_status "$LAST" passed 60
assert_match "a long goal is whole in its task file" "(padmark ){300}" \
    "$(jq -r .goal "$M/tasks/$LAST.json")"
assert_match "... and system.log's started line names its start" \
    "$LAST: started: Write square\(x\), run 3\." "$(cat "$M/logs/system.log")"
assert_eq "... and no more of it" 0 "$(grep -c padmark "$M/logs/system.log" || true)"
assert_eq "the state is running, with no reason" "running null" \
    "$(jq -r '"\(.state) \(.reason)"' "$M/status.json")"

# A skill of its own: recalled memory of the square tasks would put
# "square(" in its prompt, and the square rule would answer at once.
echo '{"goal": "Write slowcube(x) returning x cubed.", "skills": ["cubes"], "tests": "assert slowcube(2) == 8"}' >"$M/tasks/new"
SLOW=$(task_ids | tail -n 1)
assert_ok "a slow task starts" wait_for_status "$SLOW" running 20
# Cancelled while its first attempt waits for the LLM: it stops before
# the second.
wait_step() {
    local i
    for ((i = 0; i < 200; i++)); do
        [ "$(jq -r '.builders[0].step' "$M/status.json")" = "$1" ] && return 0
        sleep 0.1
    done
    echo "builder 0 is at: $(jq -r '.builders[0].step' "$M/status.json")"
    return 1
}
assert_ok "... and asks the LLM for attempt 1" wait_step "attempt 1: asking the LLM"
assert_ok "bt cancel of the running task" "$BT" --mount "$M" cancel "$SLOW"
assert_eq "... says it stops at its next step" "$SLOW running: stops at its next step" "$OUT"
assert_ok "... and it is recorded as cancelled" wait_for_status "$SLOW" cancelled 30
assert_match "... at a step, with the reason" "cancelled by control (before|after)" \
    "$(jq -r .result.reason "$M/tasks/$SLOW.json")"
assert_eq "... having stopped after its first attempt" 1 "$(jq -r .attempts "$M/tasks/$SLOW.json")"
assert_eq "... with nothing in the score log" 0 \
    "$(jq '[.[] | select(.task == "'"$SLOW"'")] | length' "$M/core/score_log.json")"
assert_match "events.jsonl has the attempt and the cancel" "attempt $SLOW.*task_cancelled $SLOW" \
    "$(jq -r --arg t "$SLOW" 'select(.task == $t) | "\(.kind) \(.task)"' "$M/logs/events.jsonl" | xargs)"
echo '{"goal": "Write square(x), once more.", "skills": ["math"], "tests": "assert square(3) == 9"}' >"$M/tasks/new"
assert_ok "the builder goes on with the next task" wait_for_status "$(task_ids | tail -n 1)" passed 30

assert_ok "score_trend.svg draws the pass rate and the mean score" \
    svg_check "$M/core/score_trend.svg" "s:polyline[@id='pass_rate']" \
    "s:polyline[@id='mean_score']"
assert_ok "... and the same two for set sq" svg_check "$M/core/score_trend.svg" \
    "s:polyline[@id='set_0']" "s:polyline[@id='set_0_score']"
assert_match "... naming the set in its legend" "mean score \(dashed\), set sq" \
    "$(cat "$M/core/score_trend.svg")"
assert_ok "skill_map.svg draws each skill's rating and its uncertainty" \
    svg_check "$M/core/skill_map.svg" "s:g/s:circle[@class='rating']" \
    "s:g/s:line[@class='uncertainty']"
assert_match "... for skill math" ">math<" "$(cat "$M/core/skill_map.svg")"
assert_ok "bt get-trend" "$BT" --mount "$M" get-trend
assert_match "... draws a sparkline of the pass rate" "^pass rate +[▁▂▃▄▅▆▇█]+ " "$OUT"
assert_match "... and of the mean score" "^mean score +[▁▂▃▄▅▆▇█]+ " "$OUT"
assert_ok "bt watch --count 1 with results" "$BT" --mount "$M" watch --count 1
assert_match "... counts them" "results=\[4 passed, 0 failed, 0 error\]" "$OUT"
stop_btfs
stop_fake

finish
