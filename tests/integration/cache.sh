#!/bin/bash
# cache.sh -- the kernel caches names, attributes and pages for long, and
# yet: a file the Builder changes shows its new content (and its new size)
# on the next open, while a reader holding the old file keeps its snapshot
# and the size asked through that open file is its snapshot's (issue #12.5,
# #15.6).
# Also: `ls -l` sizes (READDIRPLUS) equal the bytes read for every file of
# tasks/, and a name that did not exist is found as soon as it does.
. "${0%/*}/lib.sh" || exit 1

need_fake
need_sandbox

export BT_SEED=0 BT_TRAINER=0 BT_BUILDERS=1

start_fake
fake_rule '{"kind":"reply","match":"review your own work","content":"{\"summary\": \"doubles\", \"what_went_wrong\": \"\", \"lessons\": [\"keep it simple\"], \"concepts\": [\"arithmetic\"]}"}'
fake_rule "{\"kind\":\"reply\",\"match\":\"double(\",\"content\":$(jq -Rs . <<<'```python
def double(x):
    return 2 * x
```')}"
start_btfs

# The task must stay queued until the readers hold their files.
echo pause >"$M/control"
printf '%s\n' '{"goal": "Write double(x) returning twice x.", "tests": "assert double(2) == 4"}' >"$M/tasks/new"
assert_eq "the task is queued" queued "$(jq -r .status "$M/tasks/task_000001.json")"

# One Python process holds the old files open across the change and
# compares, for each, what it reads with what fstat says, then what a new
# open reads with what stat says.
cat >"$T/hold.py" <<'EOF'
import json, os, sys, time
m = sys.argv[1]
files = ["tasks/task_000001.json", "tasks/task_queue.json",
         "core/score_log.json", "logs/runtime.json", "status.json"]

def read_all(fd):
    out = b""
    while True:
        b = os.pread(fd, 65536, len(out))
        if not b:
            return out
        out += b

old = {f: os.open(os.path.join(m, f), os.O_RDONLY) for f in files}
before = {f: read_all(fd) for f, fd in old.items()}
with open(os.path.join(m, "control"), "w") as c:
    c.write("resume\n")
deadline = time.time() + 60
while time.time() < deadline:
    with open(os.path.join(m, "tasks/task_000001.json"), "rb") as f:
        if json.loads(f.read())["status"] == "passed":
            break
    time.sleep(0.1)
for f, fd in old.items():
    again = read_all(fd)
    json.loads(again)
    print("same", f, int(again == before[f]))
    print("fstat", f, int(os.fstat(fd).st_size == len(again)))
    if f == "status.json":
        # Never cached, so the kernel asks btfs, naming the open file.
        print("seekend", f, int(os.lseek(fd, 0, os.SEEK_END) == len(again)))
    os.close(fd)
for f in files:
    p = os.path.join(m, f)
    size = os.stat(p).st_size
    with open(p, "rb") as fh:
        now = fh.read()
    json.loads(now)
    if f != "status.json":      # the clock changes it between two calls
        print("stat", f, int(size == len(now)))
    print("changed", f, int(now != before[f]))
print("status", json.loads(open(os.path.join(m, files[0])).read())["status"])
print("queue", len(json.loads(open(os.path.join(m, files[1])).read())))
EOF
out=$(python3 "$T/hold.py" "$M")
assert_match "the Builder finished the task" '^status passed$' "$out"
assert_match "the queue is empty on the next open" '^queue 0$' "$out"
for f in tasks/task_000001.json tasks/task_queue.json core/score_log.json; do
    assert_match "$f: the old open file kept its snapshot" "^same $f 1\$" "$out"
    assert_match "$f: a new open shows the change" "^changed $f 1\$" "$out"
    assert_match "$f: stat after the change equals the bytes read" "^stat $f 1\$" "$out"
done
# fstat(2) of an open collection or document is what that file reads, not
# what a new open would (btfs finds the caller's open file: the kernel names
# none), while stat(2) right after the close (the next loop) is the new size.
for f in tasks/task_queue.json core/score_log.json logs/runtime.json status.json; do
    assert_match "$f: fstat of the old open file equals its bytes read" "^fstat $f 1\$" "$out"
done
# Where the kernel names the open file (lseek SEEK_END, a read past the size
# it knows), btfs answers from that file's snapshot.
assert_match "status.json: lseek(SEEK_END) of an open file is its snapshot's size" \
    '^seekend status.json 1$' "$out"

# A finished task's attributes are final: reading it changes nothing.
a=$(stat -c '%s %Y %i' "$M/tasks/task_000001.json")
cat "$M/tasks/task_000001.json" >/dev/null
b=$(stat -c '%s %Y %i' "$M/tasks/task_000001.json")
assert_eq "a finished task's attributes are stable" "$a" "$b"

# ls -l sizes equal the bytes read, for every file of tasks/.
bad=""
while read -r size name; do
    [ "$name" = new ] && continue
    real=$(wc -c <"$M/tasks/$name")
    [ "$size" = "$real" ] || bad+="$name: ls $size, read $real; "
done < <(ls -l "$M/tasks" | awk 'NR > 1 { print $5, $9 }')
assert_eq "ls -l sizes equal bytes read in tasks/" "" "$bad"
assert_eq "tasks/ lists the task, its reflection and summary" \
    "new reflection_000001.json summary_000001.json task_000001.json task_queue.json" \
    "$(ls "$M/tasks" | tr '\n' ' ' | sed 's/ $//')"

# A name that did not exist is found once it does (misses are not cached).
assert_fails "task_000002.json does not exist yet" test -e "$M/tasks/task_000002.json"
echo pause >"$M/control"
printf 'another\n' >"$M/tasks/new"
assert_ok "task_000002.json exists once written" test -e "$M/tasks/task_000002.json"
assert_eq "its size is exact" "$(wc -c <"$M/tasks/task_000002.json")" \
    "$(stat -c %s "$M/tasks/task_000002.json")"

# control's size follows the switch (a commit), with its attributes cached.
assert_eq "control: stat size equals bytes read when paused" \
    "$(wc -c <"$M/control")" "$(stat -c %s "$M/control")"
echo resume >"$M/control"
assert_eq "control reads running" running "$(cat "$M/control")"
assert_eq "control: stat size equals bytes read after resume" \
    "$(wc -c <"$M/control")" "$(stat -c %s "$M/control")"

finish
