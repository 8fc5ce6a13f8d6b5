#!/bin/bash
# tasks_new.sh -- writing tasks/new with echo, printf, cat and python: one
# task and many, JSON lines, every kind of rejection (non-zero exit, nothing
# added), the reply read back on the same open file, partial lines.
. "${0%/*}/lib.sh" || exit 1

start_btfs
N="$M/tasks/new"

# expect_count WHAT N: the number of task files is N.
expect_count() {
    assert_eq "$1" "$2" "$(task_count)"
}

# ---- One and many ---------------------------------------------------------------

assert_eq "a fresh store has no tasks" 0 "$(task_count)"
assert_ok "echo goal > tasks/new succeeds" sh_c "echo 'reverse a linked list' > '$N'"
expect_count "... and adds one task" 1
assert_eq "... whose goal is the line" "reverse a linked list" \
    "$(jq -r .goal "$M/tasks/task_000001.json")"
t=$(cat "$M/tasks/task_000001.json")
assert_eq "a plain-text task gets the documented defaults" \
    '{"difficulty":0.5,"language":"python","timeout_s":10,"priority":0,"source":"user","status":"queued","attempts":0}' \
    "$(jq -c '{difficulty,language,timeout_s,priority,source,status,attempts}' <<<"$t")"

assert_ok "printf of three lines succeeds" sh_c "printf 'three a\nthree b\nthree c\n' > '$N'"
expect_count "... and adds three tasks" 4
assert_eq "... in the order written" "three a|three b|three c" \
    "$(for i in 2 3 4; do jq -r .goal "$M/tasks/task_00000$i.json"; done | paste -sd'|')"

for i in $(seq 1 100); do echo "hundred goal $i"; done >"$T/hundred.txt"
assert_ok "cat of a file with 100 lines > tasks/new succeeds" sh_c "cat '$T/hundred.txt' > '$N'"
expect_count "... and adds 100 tasks" 104
assert_eq "... with every goal exactly once" "$(sort "$T/hundred.txt")" \
    "$(all_goals | grep '^hundred goal' | sort)"

assert_ok "echo >> tasks/new (O_APPEND) works too" sh_c "echo 'appended goal' >> '$N'"
expect_count "... and adds one task" 105

assert_ok "a CRLF line is accepted" sh_c "printf 'crlf goal\r\n' > '$N'"
assert_eq "... without the CR in the goal" "crlf goal" \
    "$(jq -r .goal "$M/tasks/task_000106.json")"
assert_ok "a UTF-8 goal is accepted" sh_c "echo 'Zeichenkette umdrehen: äöü ✓' > '$N'"
assert_eq "... and kept byte for byte" "Zeichenkette umdrehen: äöü ✓" \
    "$(jq -r .goal "$M/tasks/task_000107.json")"
goal8k=$(head -c 8192 /dev/zero | tr '\0' g)
assert_ok "a goal of 8192 bytes is accepted" sh_c "echo '$goal8k' > '$N'"
expect_count "... and added" 108

json='{"goal":"square a number","difficulty":0.7,"priority":3,"skills":["math","functions"],"language":"sh","tests":"assert f(2) == 4","hidden_tests":"assert f(3) == 9","constraints":["no imports"],"timeout_s":30}'
assert_ok "a JSON line with every field succeeds" sh_c "printf '%s\n' '$json' > '$N'"
assert_eq "... and the task file holds every field as written" "$json" \
    "$(jq -c '{goal,difficulty,priority,skills,language,tests,hidden_tests,constraints,timeout_s}' "$M/tasks/task_000109.json")"
assert_eq "... plus id, source, status, attempts" "task_000109 user queued 0" \
    "$(jq -r '"\(.id) \(.source) \(.status) \(.attempts)"' "$M/tasks/task_000109.json")"
for v in '"language":"python"' '"language":"c"' '"difficulty":0' '"difficulty":1' \
         '"priority":-1000' '"priority":1000' '"timeout_s":1' '"timeout_s":3600' \
         '"skills":[]' '"constraints":[]'; do
    assert_ok "boundary value $v is accepted" sh_c "printf '%s\n' '{\"goal\":\"edge\",$v}' > '$N'"
done
good=$(task_count)
assert_eq "every accepted line added exactly one task" 119 "$good"

# ---- Rejections: non-zero exit, EINVAL, nothing added -----------------------------

# reject WHAT LINE...: writing the lines (one printf, one write) must fail
# with "Invalid argument" and add no task.
reject() {
    local what=$1 before
    shift
    before=$(task_count)
    printf '%s\n' "$@" >"$T/lines"
    assert_fails "rejected: $what" sh_c "cat '$T/lines' > '$N'"
    assert_match "... with EINVAL" "Invalid argument" "$ERR"
    assert_eq "... and nothing added" "$before" "$(task_count)"
}

reject "bad JSON (unterminated object)" '{"goal": "x"'
reject "bad JSON (trailing garbage)" '{"goal": "x"} y'
reject "bad JSON (not an object)" '{'
reject "unknown field" '{"goal":"x","colour":"red"}'
reject "missing goal" '{"difficulty":0.5}'
reject "empty goal" '{"goal":""}'
reject "wrong type: goal number" '{"goal":5}'
reject "wrong type: difficulty string" '{"goal":"x","difficulty":"hard"}'
reject "wrong type: priority float" '{"goal":"x","priority":1.5}'
reject "wrong type: skills string" '{"goal":"x","skills":"recursion"}'
reject "wrong type: skills of numbers" '{"goal":"x","skills":[1,2]}'
reject "wrong type: constraints object" '{"goal":"x","constraints":{}}'
reject "wrong type: tests number" '{"goal":"x","tests":1}'
reject "out of range: difficulty 7" '{"goal":"x","difficulty":7}'
reject "out of range: difficulty -0.1" '{"goal":"x","difficulty":-0.1}'
reject "out of range: priority 1001" '{"goal":"x","priority":1001}'
reject "out of range: priority -1001" '{"goal":"x","priority":-1001}'
reject "out of range: timeout_s 0" '{"goal":"x","timeout_s":0}'
reject "out of range: timeout_s 3601" '{"goal":"x","timeout_s":3601}'
reject "unknown language" '{"goal":"x","language":"rust"}'
reject "goal of 8193 bytes" "${goal8k}g"
reject "empty line" ''
reject "an empty line between good ones" 'fine one' '' 'fine two'
reject "a bad line after good ones" 'good before 1' 'good before 2' '{"goal":"x","difficulty":2}'
reject "a bad line before a good one" '{"goal":"x","zzz":1}' 'good after'
printf 'bad utf8 \xff\xfe\n' >"$T/badutf8"
before=$(task_count)
assert_fails "rejected: invalid UTF-8" sh_c "cat '$T/badutf8' > '$N'"
assert_match "... with EINVAL" "Invalid argument" "$ERR"
assert_eq "... and nothing added" "$before" "$(task_count)"
assert_eq "no goal of a rejected write was stored" "" \
    "$(all_goals | grep -E '^(fine one|fine two|good before 1|good before 2|good after)$' || true)"

# Too large: EFBIG, from a single write and from a line that grows over
# many writes.
before=$(task_count)
assert_fails "a line over 256 KiB in one write fails" python3 -c '
import errno, os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_TRUNC)
try:
    os.write(fd, b"x" * (256 * 1024 + 10) + b"\n")
except OSError as e:
    print(os.strerror(e.errno), file=sys.stderr)
    sys.exit(1 if e.errno == errno.EFBIG else 3)
sys.exit(0)' "$N"
assert_eq "... with EFBIG" "1 File too large" "$RC $ERR"
assert_eq "... and nothing added" "$before" "$(task_count)"
assert_fails "a 300 KB line written by tr in chunks fails" \
    sh_c "head -c 300000 /dev/zero | tr '\\0' a > '$N'"
assert_match "... with 'File too large'" "File too large" "$ERR"
assert_eq "... and nothing added" "$before" "$(task_count)"
assert_ok "tasks/new still works after the rejections" sh_c "echo 'after rejections' > '$N'"
assert_eq "... and adds one" "$((before + 1))" "$(task_count)"

# ---- The reply on the same open file ------------------------------------------------

reply=$(bash -c 'exec 3<>"$1"; printf "fd goal a\nfd goal b\n" >&3; cat <&3; exec 3>&-' _ "$N")
assert_match "exec 3<>; printf >&3; cat <&3 reads two ids" \
    '^task_[0-9]{6,}'$'\n''task_[0-9]{6,}$' "$reply"
id1=$(sed -n 1p <<<"$reply")
id2=$(sed -n 2p <<<"$reply")
assert_eq "the first id read back is the first line's task" "fd goal a" \
    "$(jq -r .goal "$M/tasks/$id1.json" 2>&1)"
assert_eq "the second id read back is the second line's task" "fd goal b" \
    "$(jq -r .goal "$M/tasks/$id2.json" 2>&1)"
assert_eq "... and the ids are in the files" "$id1 $id2" \
    "$(jq -r .id "$M/tasks/$id1.json" "$M/tasks/$id2.json" | paste -sd' ')"

assert_ok "python O_RDWR: write many lines, read the ids" python3 -c '
import json, os, sys
new = sys.argv[1]
tasks = os.path.dirname(new)
goals = ["py batch %d" % i for i in range(500)]
fd = os.open(new, os.O_RDWR)
data = "".join(g + "\n" for g in goals).encode()
n = os.write(fd, data)
assert n == len(data), (n, len(data))
reply = b""
while True:
    b = os.read(fd, 65536)
    if not b:
        break
    reply += b
os.close(fd)
ids = reply.decode().split("\n")
assert ids[-1] == "", "reply does not end in a newline: %r" % reply[-40:]
ids = ids[:-1]
assert len(ids) == 500, "%d ids for 500 lines" % len(ids)
for g, i in zip(goals, ids):
    with open(os.path.join(tasks, i + ".json")) as f:
        t = json.load(f)
    assert t["goal"] == g and t["id"] == i, (g, i, t)
nums = [int(i[5:]) for i in ids]
assert nums == sorted(nums) and len(set(nums)) == 500, "ids not increasing"
' "$N"

assert_ok "python O_RDWR: a bad line fails with EINVAL and the reason reads back" python3 -c '
import errno, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    os.write(fd, b"ok line\n{\"goal\":\"x\",\"difficulty\":7}\n")
    sys.exit("the write succeeded")
except OSError as e:
    assert e.errno == errno.EINVAL, os.strerror(e.errno)
reply = os.read(fd, 4096).decode()
os.close(fd)
assert reply.startswith("error: line 2: "), repr(reply)
assert "difficulty" in reply, repr(reply)
print(reply.strip())
' "$N"
assert_match "the reason is also in logs/system.log" "difficulty" \
    "$(grep -i 'error\|reject' "$M/logs/system.log" || true)"
assert_match "logs/system.log names the ids of a write" "$id2" \
    "$(cat "$M/logs/system.log")"

# ---- Partial lines ----------------------------------------------------------------

before=$(task_count)
assert_ok "python: write 'par', then 'tial\\n': one task 'partial'" python3 -c '
import os, sys
new = sys.argv[1]
tasks = os.path.dirname(new)
def count():
    return sum(1 for n in os.listdir(tasks) if n.startswith("task_0"))
before = count()
fd = os.open(new, os.O_WRONLY)
assert os.write(fd, b"par") == 3
assert count() == before, "a partial line was enqueued before its end"
assert os.write(fd, b"tial\n") == 5
assert count() == before + 1, "the completed line was not enqueued at once"
os.close(fd)
assert count() == before + 1
' "$N"
assert_eq "... whose goal is 'partial'" "partial" \
    "$(all_goals | grep -x partial || true)"
assert_ok "python: write 'abc', then close: one task 'abc'" python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
assert os.write(fd, b"abc") == 3
os.close(fd)
' "$N"
assert_eq "... whose goal is 'abc'" "abc" "$(all_goals | grep -x abc || true)"
assert_eq "two tasks added by the partial-line writes" "$((before + 2))" "$(task_count)"
assert_ok "printf without a final newline adds the task at close" \
    sh_c "printf 'no newline at end' > '$N'"
assert_eq "... whose goal is the text" "no newline at end" \
    "$(all_goals | grep -x 'no newline at end' || true)"
before=$(task_count)
run python3 -c '
import errno, os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
os.write(fd, b"{\"goal\":")
try:
    os.close(fd)
except OSError as e:
    print(os.strerror(e.errno), file=sys.stderr)
    sys.exit(1)
' "$N"
assert_eq "a bad partial line fails at close" "1" "$RC"
assert_match "... with EINVAL" "Invalid argument" "$ERR"
assert_eq "... and adds nothing" "$before" "$(task_count)"

# ---- Everything written is whole and the queue agrees -------------------------------

total=$(task_count)
assert_eq "task_queue.json lists every task (all queued)" "$total" \
    "$(queue_ids | wc -l)"
assert_eq "status.json's queue depth agrees" "$total" \
    "$(jq -r '.queue_depth // .queued' "$M/status.json")"
assert_eq "every task file's id is its name, each once" \
    "$(task_ids)" "$(jq -r .id "$M"/tasks/task_[0-9]*.json | sort -t_ -k2,2n | uniq)"
assert_eq "reading tasks/new on a fresh open gives nothing" "" "$(cat "$N")"

# ---- Large inputs --------------------------------------------------------------------

# Lines that straddle writes: cat copies in 128 KiB blocks, and a write(2)
# over 1 MiB is split by the kernel at max_write.
for i in $(seq 1 3000); do printf 'straddling goal number %06d padded to be long\n' "$i"; done >"$T/big.txt"
before=$(task_count)
assert_ok "cat of a 3000-line file ($(wc -c <"$T/big.txt") bytes) succeeds" \
    sh_c "cat '$T/big.txt' > '$N'"
assert_eq "... and adds 3000 tasks" "$((before + 3000))" "$(task_count)"
assert_eq "... every line whole, once, in order" "$(cat "$T/big.txt")" \
    "$(all_goals | grep '^straddling goal')"
before=$(task_count)
assert_ok "one 1.2 MB write(2) of 12000 lines succeeds" python3 -c '
import os, sys
data = b"".join(b"large write line %06d %s\n" % (i, b"x" * 80) for i in range(12000))
assert len(data) > 1024 * 1024, len(data)
fd = os.open(sys.argv[1], os.O_WRONLY)
n = os.write(fd, data)
os.close(fd)
assert n == len(data), (n, len(data))
' "$N"
assert_eq "... and adds 12000 tasks" "$((before + 12000))" "$(task_count)"
all_goals | grep '^large write line' >"$T/large.got" || true
assert_eq "... every line whole, once" "12000 12000" \
    "$(grep -E '^large write line [0-9]{6} x{80}$' "$T/large.got" | sort -u | wc -l) $(wc -l <"$T/large.got")"

assert_eq "status.json's queue depth counts them all" "$(task_count)" \
    "$(jq -r '.queue_depth // .queued' "$M/status.json")"

stop_btfs TERM
assert_eq "btfs exits 0 on SIGTERM" 0 "$BTFS_RC"
finish
