#!/bin/bash
# tree.sh -- the tree of a fresh mount: every path of DESIGN.md's table, every
# JSON file parses, sizes equal the bytes read, task files and the queue say
# what was written, cp -r and grep -r work, and read-only files stay so.
. "${0%/*}/lib.sh" || exit 1

export BT_LLM_API_KEY=sekrit-key-4711     # must never show in the tree
start_btfs

# Tasks to look at: priorities chosen so that the run order differs from the
# order of creation.
printf '%s\n' 'tree goal low' >"$M/tasks/new"
printf '%s\n' '{"goal":"tree goal high old","priority":5}' >"$M/tasks/new"
printf '%s\n' '{"goal":"tree goal neg","priority":-1}' >"$M/tasks/new"
printf '%s\n' '{"goal":"tree goal high new","priority":5,"skills":["recursion"],"language":"c","difficulty":0.25,"tests":"t1","hidden_tests":"h1","constraints":["no loops"],"timeout_s":42}' >"$M/tasks/new"

# ---- Every path of the table --------------------------------------------------

for f in README status.json config.json control \
         core/builder_profile.json core/skill_map.json core/score_log.json \
         core/reflections.json tasks/new tasks/task_queue.json \
         logs/system.log logs/shell.log logs/runtime.json \
         advanced/trainer_log.json advanced/current_difficulty.json \
         advanced/strategy_weights.json advanced/learned_concepts.json \
         advanced/internal_biases.json advanced/motivation_log.json; do
    if [ -f "$M/$f" ]; then
        pass "$f is a regular file"
    else
        fail "$f is a regular file" "$(ls -la "$(dirname "$M/$f")" 2>&1)"
    fi
done
for d in core tasks code_archive logs eval advanced; do
    if [ -d "$M/$d" ]; then pass "$d/ is a directory"; else fail "$d/ is a directory"; fi
done
assert_eq "ls of the root lists the table's top level" \
    "README advanced code_archive config.json control core eval logs status.json tasks" \
    "$(ls "$M" | sort | tr '\n' ' ' | sed 's/ $//')"
assert_eq "code_archive/ is empty without agents" "" "$(ls -A "$M/code_archive")"
assert_match "README is a plain-text guide naming tasks/new" "tasks/new" \
    "$(cat "$M/README")"

# ---- JSON parses, sizes are exact -----------------------------------------------

nj=0
bad=""
while IFS= read -r -d '' f; do
    nj=$((nj + 1))
    jq empty "$f" 2>/dev/null || bad+="${f#"$M"/} "
done < <(find "$M" -name '*.json' -type f -print0)
assert_eq "every JSON file parses with jq ($nj files)" "" "$bad"
if [ "$nj" -ge 18 ]; then
    pass "find sees the 14 fixed JSON files and 4 tasks ($nj)"
else
    fail "find sees the 14 fixed JSON files and 4 tasks" "got $nj" \
        "$(find "$M" -type f)"
fi
assert_ok "every JSON file parses with python json.load" python3 -c '
import json, os, sys
bad = []
for root, dirs, files in os.walk(sys.argv[1]):
    for n in files:
        if n.endswith(".json"):
            p = os.path.join(root, n)
            try:
                with open(p) as f:
                    json.load(f)
            except Exception as e:
                bad.append("%s: %s" % (p, e))
if bad:
    sys.exit("\n".join(bad))
' "$M"

badsz=""
nf=0
while IFS= read -r -d '' f; do
    nf=$((nf + 1))
    s=$(stat -c %s "$f")
    r=$(wc -c <"$f")
    if [ "$s" -ne "$r" ]; then
        # once more: status.json's uptime may have gained a digit between
        # the two; a wrong size stays wrong
        s=$(stat -c %s "$f")
        r=$(wc -c <"$f")
        [ "$s" -eq "$r" ] || badsz+="${f#"$M"/}: stat $s, read $r"$'\n'
    fi
done < <(find "$M" -type f -print0)
assert_eq "stat size equals the bytes read for every file ($nf files)" "" "$badsz"

ls_sizes=$(cd "$M/core" && ls -l | awk 'NR > 1 { print $5, $9 }')
wc_sizes=$(cd "$M/core" && for f in *; do echo "$(wc -c <"$f") $f"; done)
assert_eq "ls -l sizes in core/ equal the bytes read" "$wc_sizes" "$ls_sizes"

# ---- Modes ----------------------------------------------------------------------

assert_no_match "README is read-only (mode has no w)" w "$(stat -c %A "$M/README")"
assert_match "control is writable (mode)" '^-rw' "$(stat -c %A "$M/control")"
assert_match "tasks/new is writable (mode)" '^-rw' "$(stat -c %A "$M/tasks/new")"
assert_match "task files are read-only (mode)" '^-r--' \
    "$(stat -c %A "$M/tasks/task_000001.json")"

# ---- Task files and the queue ---------------------------------------------------

assert_eq "tasks/ lists new, the queue and the four tasks" \
    "new task_000001.json task_000002.json task_000003.json task_000004.json task_queue.json" \
    "$(ls "$M/tasks" | sort | tr '\n' ' ' | sed 's/ $//')"
t1=$(cat "$M/tasks/task_000001.json")
assert_eq "task_000001: id" task_000001 "$(jq -r .id <<<"$t1")"
assert_eq "task_000001: goal" "tree goal low" "$(jq -r .goal <<<"$t1")"
assert_eq "task_000001: source user" user "$(jq -r .source <<<"$t1")"
assert_eq "task_000001: status queued" queued "$(jq -r .status <<<"$t1")"
assert_eq "task_000001: attempts 0" 0 "$(jq -r .attempts <<<"$t1")"
assert_eq "task_000001: default priority 0" 0 "$(jq -r .priority <<<"$t1")"
assert_match "task_000001: created_at is RFC 3339" \
    '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$' \
    "$(jq -r .created_at <<<"$t1")"
t4=$(cat "$M/tasks/task_000004.json")
assert_eq "task_000004: every field as written" \
    '{"goal":"tree goal high new","priority":5,"skills":["recursion"],"language":"c","difficulty":0.25,"tests":"t1","hidden_tests":"h1","constraints":["no loops"],"timeout_s":42}' \
    "$(jq -c '{goal,priority,skills,language,difficulty,tests,hidden_tests,constraints,timeout_s}' <<<"$t4")"
assert_eq "task_queue.json: higher priority first, then older" \
    "task_000002 task_000004 task_000001 task_000003" \
    "$(queue_ids | tr '\n' ' ' | sed 's/ $//')"
assert_eq "status.json: state stalled (no builders here)" stalled "$(jq -r .state "$M/status.json")"
assert_eq "status.json: queue depth 4" 4 "$(jq -r '.queue_depth // .queued' "$M/status.json")"
assert_eq "control reads running" running "$(cat "$M/control")"
assert_fails "a task that does not exist is ENOENT" cat "$M/tasks/task_000099.json"
assert_match "... with 'No such file'" "No such file" "$ERR"
assert_fails "a non-canonical task name is ENOENT" cat "$M/tasks/task_1.json"
assert_match "logs/system.log names the new task ids" task_000004 \
    "$(cat "$M/logs/system.log")"

# ---- Secrets --------------------------------------------------------------------

assert_exit "grep -r finds no API key anywhere in the tree" 1 \
    grep -r -F sekrit-key-4711 "$M"
assert_ok "config.json parses" jq -e 'type == "object"' "$M/config.json"

# ---- cp -r and grep -r ----------------------------------------------------------

mkdir "$T/copy"
assert_ok "cp -r of the whole mount" cp -r "$M" "$T/copy/"
assert_eq "the copy holds as many files as the mount" \
    "$(cd "$M" && find . -type f | sort)" \
    "$(cd "$T/copy/mountpoint" && find . -type f | sort)"
assert_eq "the copied task file is identical" \
    "$(cat "$M/tasks/task_000004.json")" \
    "$(cat "$T/copy/mountpoint/tasks/task_000004.json")"
assert_eq "grep -r over the copy finds the goal" \
    "tasks/task_000003.json" \
    "$(cd "$T/copy/mountpoint" && grep -rl 'tree goal neg' tasks | grep task_0 | sort)"
assert_eq "grep -r over the mount finds the goal in the task file" \
    "$M/tasks/task_000003.json" \
    "$(grep -rl 'tree goal neg' "$M/tasks" | grep '/task_0' | sort)"
n=$(grep -rl 'tree goal' "$M" | grep -c '/tasks/task_0' || true)
assert_eq "grep -r over the whole mount finds all four task files" 4 "$n"

# ---- Read-only rules ------------------------------------------------------------

before=$(cat "$M/tasks/task_000001.json")
before_size=$(wc -c <"$M/tasks/task_000001.json")
for f in README status.json config.json core/skill_map.json \
         tasks/task_queue.json tasks/task_000001.json logs/system.log \
         advanced/strategy_weights.json; do
    assert_fails "echo > $f fails" sh_c "echo x > '$M/$f'"
    assert_match "... with EACCES or EROFS" \
        "Permission denied|Read-only file system" "$ERR"
done
assert_fails "echo >> logs/system.log fails" sh_c "echo x >> '$M/logs/system.log'"
assert_eq "a refused write changed nothing" "$before" \
    "$(cat "$M/tasks/task_000001.json")"
assert_fails "python open(O_WRONLY) of README fails" python3 -c '
import os, sys
os.open(sys.argv[1], os.O_WRONLY)' "$M/README"
assert_fails "truncate of a task file fails" truncate -s 0 "$M/tasks/task_000001.json"
assert_eq "... and it keeps its size" "$before_size" \
    "$(wc -c <"$M/tasks/task_000001.json")"
assert_fails "rm README fails" rm -f "$M/README"
assert_fails "rm of a task file fails" rm -f "$M/tasks/task_000001.json"
assert_fails "rm tasks/new fails" rm -f "$M/tasks/new"
assert_fails "mv of a task file fails" mv "$M/tasks/task_000001.json" "$M/tasks/task_000009.json"
assert_fails "mv README out of the mount fails" mv "$M/README" "$T/README"
assert_fails "mkdir in the root fails" mkdir "$M/newdir"
assert_fails "mkdir in tasks/ fails" mkdir "$M/tasks/x"
assert_fails "touch of a new file in the root fails" touch "$M/newfile"
assert_fails "touch of a new task file fails" touch "$M/tasks/task_000050.json"
assert_fails "ln -s in the root fails" ln -s README "$M/link"
assert_fails "chmod of README fails" chmod 666 "$M/README"
assert_eq "the root still lists the same entries" \
    "README advanced code_archive config.json control core eval logs status.json tasks" \
    "$(ls "$M" | sort | tr '\n' ' ' | sed 's/ $//')"
assert_eq "tasks/ still holds four tasks" 4 "$(task_count)"
assert_eq "README is still there and the same" "$(cat "$T/copy/mountpoint/README")" \
    "$(cat "$M/README")"

# Sizes follow the content at once: no stale size cached after a change.
stale=""
for i in 1 2 3; do
    echo "size goal $i" >"$M/tasks/new"
    for f in tasks/task_queue.json status.json logs/system.log; do
        s=$(stat -c %s "$M/$f")
        r=$(wc -c <"$M/$f")
        [ "$s" -eq "$r" ] || stale+="after write $i: $f: stat $s, read $r"$'\n'
    done
    s=$(ls -l "$M/tasks/task_queue.json" | awk '{ print $5 }')
    r=$(wc -c <"$M/tasks/task_queue.json")
    [ "$s" -eq "$r" ] || stale+="after write $i: ls -l task_queue.json $s, read $r"$'\n'
done
assert_eq "sizes follow each write at once (queue, status, log)" "" "$stale"

# eval/: one report per set, listed as soon as a task names the set, its
# figures a function of the set's tasks alone.
assert_eq "eval/ is empty while no task has a set" "" "$(ls -A "$M/eval")"
printf '%s\n' '{"goal":"e1","set":"he-demo","problem_id":"P/1","held_out":true}' \
    '{"goal":"e2","set":"he-demo","problem_id":"P/2","held_out":true}' \
    '{"goal":"other","set":"mine"}' >"$M/tasks/new"
assert_eq "eval/ lists one file per set" "he-demo.json mine.json" \
    "$(ls "$M/eval" | tr '\n' ' ' | sed 's/ $//')"
assert_eq "eval/he-demo.json: two queued problems, held out, nothing judged" \
    "2 2 true 0 null null" \
    "$(jq -r '[.problems, .queued, .held_out, .judged, .pass_at_1, .pass_final_ci95] | map(tostring) | join(" ")' "$M/eval/he-demo.json")"
assert_eq "eval/he-demo.json lists its problems in order" "P/1 P/2" \
    "$(jq -r '[.tasks[].problem_id] | join(" ")' "$M/eval/he-demo.json")"
assert_eq "eval/mine.json is not held out" "false" "$(jq -r .held_out "$M/eval/mine.json")"
assert_eq "eval/ size equals the bytes read" "$(wc -c <"$M/eval/he-demo.json")" \
    "$(stat -c %s "$M/eval/he-demo.json")"
assert_fails "eval/ of an unknown set is missing" cat "$M/eval/nope.json"
assert_fails "eval/ names are lowercase" cat "$M/eval/HE-demo.json"
assert_fails "a file cannot be made in eval/" touch "$M/eval/x.json"

stop_btfs TERM
assert_eq "btfs exits 0 on SIGTERM" 0 "$BTFS_RC"
finish
