#!/bin/bash
# bt_import.sh -- bt import against a real mount: HumanEval- and MBPP-format
# samples become held-out tasks of a set, with the docstring examples (or
# MBPP's test_list) as visible tests, the dataset's tests hidden, skills
# from their text and never the set's name, and their reference solutions
# nowhere; --dry-run, --set, --json, --skip-bad, batches of 100 lines, a
# line btfs refuses, every kind of bad input (nothing imported); re-import
# skips what the set holds; --train, --max-attempts, --no-memory; and
# bt get-trend --skill / --set over the imported sets.
. "${0%/*}/lib.sh" || exit 1

: "${SRCDIR:?set SRCDIR to the source tree}"
HE="$SRCDIR/tests/data/humaneval_sample.jsonl"
MB="$SRCDIR/tests/data/mbpp_sample.jsonl"
# One identifier from each reference solution (canonical_solution, code).
SECRETS='squares_total_s0|vowel_word_hits_s1|best_so_far_s2|upper_hits_m901|area_m902|shared_m903'

# bt_err WHAT ARGS...: bt ARGS must fail with a "bt: " message on stderr.
bt_err() {
    local what=$1
    shift
    assert_fails "$what" "$BT" "$@"
    assert_match "... with a 'bt: ' message on stderr" '^bt: ' "$ERR"
}

# field ID JQ: a value of a task file.
field() {
    jq -c "$2" "$M/tasks/$1.json" 2>&1
}

# ---- Without a mount: --dry-run only converts ---------------------------------

assert_ok "--dry-run needs no mount" "$BT" --mount "$T/nowhere" import \
    "$HE" --format humaneval --dry-run
dry_he=$OUT
assert_eq "... and prints one task line per problem" 3 "$(wc -l <<<"$dry_he")"
assert_eq "... each a JSON object" "object object object" \
    "$(jq -r type <<<"$dry_he" 2>&1 | paste -sd' ')"
assert_no_match "... holding no reference solution" "$SECRETS" "$dry_he"
assert_eq "... of set humaneval, held out, with the problem's id" \
    '{"set":"humaneval","held_out":true,"problem_id":"Sample/0","language":"python"}' \
    "$(head -n1 <<<"$dry_he" | jq -c '{set,held_out,problem_id,language}' 2>&1)"
assert_eq "... skills from the text, never the set's name" '[["math","lists"],["strings"],["lists"]]' \
    "$(jq -sc 'map(.skills)' <<<"$dry_he" 2>&1)"
assert_eq "... the docstring's examples as visible tests" \
    "assert sum_of_squares([1, 2, 3]) == 14
assert sum_of_squares([]) == 0" "$(head -n1 <<<"$dry_he" | jq -r .tests)"
bt_err "import without --dry-run needs the mount" --mount "$T/nowhere" \
    import "$HE" --format humaneval
assert_exit "... and exits 2, like every command without a mount" 2 \
    "$BT" --mount "$T/nowhere" import "$HE" --format humaneval

start_btfs
export BT_MOUNT="$M"

# ---- HumanEval ----------------------------------------------------------------

assert_ok "bt import --format humaneval" "$BT" import "$HE" --format humaneval
assert_eq "... reports the ids" "imported 3 tasks: task_000001..task_000003" "$OUT"
assert_eq "... and three task files exist" 3 "$(task_count)"
for i in 0 1 2; do
    id=task_00000$((i + 1))
    src=$(sed -n "$((i + 1))p" "$HE")
    prompt=$(jq -r .prompt <<<"$src")
    entry=$(jq -r .entry_point <<<"$src")
    goal=$(jq -r .goal "$M/tasks/$id.json")
    if [[ "$goal" == *"$prompt"* ]]; then
        pass "$id: the goal holds the prompt verbatim"
    else
        fail "$id: the goal holds the prompt verbatim" "goal: $goal"
    fi
    assert_match "... and names the function" "\`$entry\`" "$goal"
    assert_eq "... the hidden tests are the dataset's test plus test_check()" \
        "$(jq -r .test <<<"$src")"$'\n\n\n'"def test_check():"$'\n'"    check($entry)" \
        "$(jq -r .hidden_tests "$M/tasks/$id.json")"
    assert_eq "... python, set humaneval, held out, its id, queued" \
        "[\"python\",\"humaneval\",true,\"Sample/$i\",\"queued\",\"user\"]" \
        "$(field "$id" '[.language,.set,.held_out,.problem_id,.status,.source]')"
    assert_match "... the examples are visible tests of the entry point" \
        "^assert $entry\(" "$(jq -r .tests "$M/tasks/$id.json")"
    assert_no_match "... no skill is the set's name" "humaneval" \
        "$(field "$id" .skills)"
done
assert_eq "the task files hold what --dry-run printed" \
    "$(jq -c '{goal,tests,hidden_tests,skills}' <<<"$dry_he")" \
    "$(for i in 1 2 3; do field task_00000$i '{goal,tests,hidden_tests,skills}'; done)"

# ---- MBPP, with --set and --json --------------------------------------------------

assert_ok "bt --json import --format mbpp --set run1" \
    "$BT" --json import "$MB" --format mbpp --set run1
assert_eq "... reports line, source id and task id of each" \
    '[{"line":1,"source_id":"901","id":"task_000004"},{"line":2,"source_id":"902","id":"task_000005"},{"line":3,"source_id":"903","id":"task_000006"}]' \
    "$(jq -c .imported <<<"$OUT" 2>&1)"
assert_eq "... and skips none" '[]' "$(jq -c .skipped <<<"$OUT" 2>&1)"
assert_eq "... the tasks are of set run1, held out; skills from the text" \
    '["run1",true,"901",["strings"]]' \
    "$(field task_000004 '[.set,.held_out,.problem_id,.skills]')"
assert_eq "... test_list is shown, as MBPP's own prompt shows it" \
    "assert count_upper('Hello World') == 2
assert count_upper('abc') == 0
assert count_upper('ABC') == 3" "$(jq -r .tests "$M/tasks/task_000004.json")"
assert_eq "... the goal is the text plus the function's name and a call" \
    "Write a function to count the upper case letters in a string.

The function is called \`count_upper\`, called as \`count_upper('Hello World')\`. Return the function, together with the imports and helpers it needs, in one code block." \
    "$(jq -r .goal "$M/tasks/task_000004.json")"
assert_eq "... the hidden tests are the set-up code and every assert" \
    "import math
assert math.isclose(circle_area(2), 12.566, rel_tol=1e-3)
assert math.isclose(circle_area(1), 3.1416, rel_tol=1e-3)
assert circle_area(0) == 0" "$(jq -r .hidden_tests "$M/tasks/task_000005.json")"
assert_eq "... challenge tests included" 4 \
    "$(jq -r .hidden_tests "$M/tasks/task_000006.json" | grep -c '^assert ')"
assert_eq "... but not shown" 3 \
    "$(jq -r .tests "$M/tasks/task_000006.json" | grep -c '^assert ')"

# The reference solutions must reach nothing: no file of the mount, no byte
# of the store.
run grep -rlE "$SECRETS" "$M"
assert_eq "no reference solution anywhere under the mount" "" "$OUT"
run grep -rlaE "$SECRETS" "$D"
assert_eq "... nor in the data directory" "" "$OUT"

# ---- tasks, batches ------------------------------------------------------------------

printf '%s\n' 'plain goal from a file' \
    '{"goal":"json goal","difficulty":0.2,"skills":["math"]}' >"$T/tasks.jsonl"
assert_ok "bt import of task lines (the default format)" "$BT" import "$T/tasks.jsonl"
assert_eq "... imports both" "imported 2 tasks: task_000007..task_000008" "$OUT"
assert_eq "... as written" '["plain goal from a file","json goal",0.2,["math"]]' \
    "$(jq -sc '[.[0].goal,.[1].goal,.[1].difficulty,.[1].skills]' \
       "$M/tasks/task_000007.json" "$M/tasks/task_000008.json")"

for i in $(seq 1 250); do echo "batch goal $i"; done >"$T/many.jsonl"
assert_ok "bt import of 250 lines" "$BT" import "$T/many.jsonl"
assert_eq "... imports them all" "imported 250 tasks: task_000009..task_000258" "$OUT"
assert_eq "... in order" "batch goal 1|batch goal 250" \
    "$(jq -r .goal "$M/tasks/task_000009.json" "$M/tasks/task_000258.json" | paste -sd'|')"
assert_eq "... written 100 lines a write" \
    "queued 100 tasks task_000009 .. task_000108|queued 100 tasks task_000109 .. task_000208|queued 50 tasks task_000209 .. task_000258" \
    "$(grep -oE 'queued [0-9]+ tasks task_[0-9]+ \.\. task_[0-9]+' "$M/logs/system.log" | tail -n3 | paste -sd'|')"

# ---- Bad input: nothing imported ---------------------------------------------------

before=$(task_count)
bt_err "a missing file" import "$T/absent.jsonl" --format humaneval
assert_match "... is named" "absent.jsonl" "$ERR"
{ sed -n 1p "$HE"; echo '{"task_id": "Bad/1", "prompt": "def f():'; sed -n 2p "$HE"; } >"$T/badjson.jsonl"
bt_err "a file with bad JSON on line 2" import "$T/badjson.jsonl" --format humaneval
assert_match "... names line 2" "line 2: not valid JSON" "$ERR"
assert_match "... and says nothing was imported" "nothing imported" "$ERR"
{ sed -n 1p "$HE"; sed -n 2p "$HE" | jq -c 'del(.entry_point)'; } >"$T/nofield.jsonl"
bt_err "a HumanEval line without entry_point" import "$T/nofield.jsonl" --format humaneval
assert_match "... names the line, problem and field" \
    "line 2 \(Sample/1\): missing field 'entry_point'" "$ERR"
sed -n 1p "$MB" | jq -c 'del(.test_list)' >"$T/notests.jsonl"
bt_err "an MBPP line without test_list" import "$T/notests.jsonl" --format mbpp
assert_match "... names the field" "line 1 \(901\): missing field 'test_list'" "$ERR"
bt_err "a HumanEval file imported as task lines" import "$HE"
assert_match "... suggests --format humaneval" "use --format humaneval" "$ERR"
python3 -c 'import json; print(json.dumps({"task_id": "Big/0", "prompt": "def f():\n" + "#" * 9000 + "\n", "test": "def check(c):\n    pass\n", "entry_point": "f"}))' >"$T/big.jsonl"
bt_err "a problem whose goal does not fit" import "$T/big.jsonl" --format humaneval
assert_match "... says so, with the limit" "line 1 \(Big/0\): the goal would be [0-9]+ bytes, the limit is 8192" "$ERR"
assert_exit "an unknown --format exits 2" 2 "$BT" import "$HE" --format apps
assert_exit "a bad --set exits 2" 2 "$BT" import "$HE" --format humaneval --set 'a b'
: >"$T/empty.jsonl"
bt_err "an empty file" import "$T/empty.jsonl"
assert_eq "none of these added a task" "$before" "$(task_count)"

# ---- --skip-bad, and a line btfs's parser refuses ----------------------------------

assert_ok "--skip-bad imports the good lines" \
    "$BT" import "$T/nofield.jsonl" --format humaneval --skip-bad --set skipbad
assert_eq "... one task" "imported 1 task: task_000259" "$OUT"
assert_match "... and reports the skipped line" "line 2 \(Sample/1\): missing field 'entry_point'" "$ERR"
assert_match "... and the count" "skipped 1 problem" "$ERR"

printf '%s\n' 'server ok one' '{"goal":"out of range","priority":5000}' \
    'server ok two' >"$T/range.jsonl"
before=$(task_count)
bt_err "a line btfs refuses (priority 5000)" import "$T/range.jsonl"
assert_match "... is named with btfs's reason (bt runs the same parser)" "line 2: .*priority" "$ERR"
assert_eq "... and its batch added nothing" "$before" "$(task_count)"
assert_ok "... with --skip-bad the others go in" "$BT" import "$T/range.jsonl" --skip-bad
assert_eq "... two tasks" "imported 2 tasks: task_000260..task_000261" "$OUT"
assert_eq "... the right two" "server ok one|server ok two" \
    "$(jq -r .goal "$M/tasks/task_000260.json" "$M/tasks/task_000261.json" | paste -sd'|')"
assert_ok "... and --json lists the refused line as skipped" \
    "$BT" --json import "$T/range.jsonl" --skip-bad
assert_eq "... with btfs's reason" '[{"line":2,"source_id":null,"priority":true}]' \
    "$(jq -c '[.skipped[] | {line,source_id,priority:(.error | test("priority"))}]' <<<"$OUT" 2>&1)"
assert_eq "... and the two imported" '[1,3]' "$(jq -c '[.imported[].line]' <<<"$OUT" 2>&1)"

# ---- get-trend over an imported set -----------------------------------------------

assert_ok "bt get-trend --set humaneval" "$BT" get-trend --set humaneval
assert_match "... counts exactly the set's tasks" "set humaneval: 3 tasks" "$OUT"
assert_match "... all queued" "queued +3" "$OUT"
assert_match "... none judged yet" "pass rate +- " "$OUT"
assert_ok "bt --json get-trend --set RUN1 (names are lower case)" "$BT" --json get-trend --set RUN1
assert_eq "... counts the three MBPP tasks" \
    '{"set":"run1","tasks":3,"passed":0,"failed":0,"error":0,"running":0,"queued":3,"cancelled":0,"pass_rate":null,"mean_score":null}' \
    "$(jq -c . <<<"$OUT" 2>&1)"
bt_err "get-trend --set of an unknown set" get-trend --set nosuchset
assert_match "... says there is none" "no set 'nosuchset'" "$ERR"
assert_ok "get-trend --skill of a set's name" "$BT" get-trend --skill humaneval
assert_eq "... finds no task: a set is not a skill" "no tasks with skill 'humaneval'" "$OUT"
assert_exit "get-trend with both --skill and --set exits 2" 2 \
    "$BT" get-trend --skill a --set b
assert_ok "bt get-trend without --skill still shows the score log" "$BT" get-trend

# ---- Re-import: what the set holds is skipped ---------------------------------------

before=$(task_count)
assert_ok "importing the same file again" "$BT" import "$HE" --format humaneval
assert_eq "... imports nothing, and says why" \
    "imported no tasks: all 3 problems are already in their set" "$OUT"
assert_match "... a note for each problem, naming its task" \
    "line 2 \(Sample/1\): already in set humaneval as task_000002, skipped" "$ERR"
assert_match "... and the count" "3 problems already in their sets were skipped" "$ERR"
assert_eq "... no task added" "$before" "$(task_count)"
{ cat "$HE"; sed -n 2p "$HE"; } >"$T/he_plus.jsonl"
jq -nc --arg p 'def nine():
    """ Return 9.
    >>> nine()
    9
    """
' '{task_id: "Sample/9", prompt: $p, test: "def check(c):\n    assert c() == 9\n", entry_point: "nine"}' >>"$T/he_plus.jsonl"
assert_ok "a file with one new problem and one given twice" \
    "$BT" --json import "$T/he_plus.jsonl" --format humaneval
assert_eq "... imports only the new one" '[{"line":5,"source_id":"Sample/9"}]' \
    "$(jq -c '[.imported[] | {line,source_id}]' <<<"$OUT" 2>&1)"
assert_eq "... lists those already present with their tasks" \
    '[["Sample/0","task_000001"],["Sample/1","task_000002"],["Sample/2","task_000003"]]' \
    "$(jq -c '[.already_present[] | [.source_id,.task]]' <<<"$OUT" 2>&1)"
assert_eq "... and the repeat as skipped" '[{"line":4,"error":"the same problem as line 2"}]' \
    "$(jq -c '[.skipped[] | {line,error}]' <<<"$OUT" 2>&1)"
assert_eq "... one task added" "$((before + 1))" "$(task_count)"
assert_ok "the set's file lists it" \
    test "$(jq -r '.problems' "$M/eval/humaneval.json")" = 4

# ---- Loop settings per set: a new --set runs the problems again ----------------------

before=$(task_count)
assert_ok "bt import --set he-single --max-attempts 1 --no-memory" \
    "$BT" import "$HE" --format humaneval --set He-Single --max-attempts 1 --no-memory
assert_eq "... imports all three again, under the new set" 3 "$(( $(task_count) - before ))"
last=$(task_ids | tail -n1)
assert_eq "... with the settings as task fields" '["he-single",1,false,true]' \
    "$(field "$last" '[.set,.max_attempts,.memory,.held_out]')"
assert_ok "bt import --train --set he-train" \
    "$BT" import "$HE" --format humaneval --set he-train --train
last=$(task_ids | tail -n1)
assert_eq "... is not held out" '["he-train",false]' \
    "$(field "$last" '[.set,(.held_out // false)]')"
assert_exit "--max-attempts 0 exits 2" 2 "$BT" import "$HE" --format humaneval --max-attempts 0
assert_exit "--max-attempts 101 exits 2" 2 "$BT" import "$HE" --format humaneval --max-attempts 101
assert_exit "a set name starting with '.' exits 2" 2 "$BT" import "$HE" --format humaneval --set .x
assert_exit "two --set exit 2" 2 "$BT" import "$HE" --format humaneval --set a --set b
assert_eq "eval/ has one file per set, no skill of any task is a set's name" \
    "he-single.json he-train.json humaneval.json run1.json skipbad.json|" \
    "$(ls "$M/eval" | paste -sd' ')|$(jq -r '.skills[]?' "$M"/tasks/task_*.json | grep -xE 'humaneval|mbpp|run1|skipbad|he-single|he-train' || true)"
finish
