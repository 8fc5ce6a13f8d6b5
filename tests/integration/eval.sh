#!/bin/bash
# eval.sh -- a benchmark run through the loop, end to end on a real mount
# with the fake LLM and the real sandbox: a HumanEval-format file imported
# with bt import as a held-out set passes 100% when the fake answers each
# problem with its canonical solution, and 0% (after every attempt) when it
# answers wrong; no prompt carries another evaluation problem's text or
# code, and no training task's prompt any; set names never become skills
# nor reach the Trainer, while the results count in the skill map and the
# profile; memory false recalls nothing where memory on recalls; and
# max_attempts 1 against the default gives the first-attempt and final pass
# rates an ablation expects.
. "${0%/*}/lib.sh" || exit 1

need_fake
need_sandbox

export BT_SEED=0 BT_TRAINER=0 BT_BUILDERS=1

# Each part starts from fresh rules (prompts recall earlier tasks).
reflection_rule() {
    fake_clear
    fake_reflection
}

ev() { jq -c "$2" "$M/eval/$1.json"; }

start_fake
start_btfs

# ---- a training task first: its memory may serve the evaluation -----------------

reflection_rule
fake_code "inc_delta(" 'def inc_delta(x):
    return x + 1'
echo '{"goal":"TRAIN_DELTA: Write inc_delta(x) returning x plus 1.","skills":["math"],"tests":"assert inc_delta(1) == 2"}' >"$M/tasks/new"
assert_ok "a training task passes" wait_status task_000001 passed 60

# ---- right answers: 100% ----------------------------------------------------------

# A HumanEval-format set through bt import, answered the way the issue's
# server answered: every problem with its own canonical solution. All three
# rules stand at once, each matched by its problem's function name: a
# prompt that carried another problem's text (memory of a sibling) would
# get that problem's answer first or second, and fail.
he_answers() {
    jq -c --arg how "$1" '{kind: "reply", match: ("`" + .entry_point + "`"),
        content: ("Here is the solution:\n```python\n" + .prompt
                  + (if $how == "right" then .canonical_solution
                     else "    return None\n" end) + "```\n")}' "$HE" | jq -sc .
}
HE="$SRCDIR/tests/data/humaneval_sample.jsonl"
ENTRIES=(sum_of_squares count_vowel_words running_max)
# One identifier of each canonical solution: the right answers' code.
CANON='squares_total_s0|vowel_word_hits_s1|best_so_far_s2'

reflection_rule
fake_rule "$(he_answers right)"
assert_ok "bt import --format humaneval --set heval-right" \
    "$BT" --mount "$M" import "$HE" --format humaneval --set heval-right
assert_ok "right answers: the held-out set is judged" wait_set heval-right 3 90
assert_eq "... 3 of 3 pass, all at the first attempt" '[3,3,3,1,1]' \
    "$(ev heval-right '[.judged, .passed, .passed_first, .pass_at_1, .pass_final]')"
# Wilson, 3 of 3: [n / (n + z^2), 1] = [0.4385, 1].
assert_eq "... with the 95% Wilson interval of 3/3" '[0.4385,1]' "$(ev heval-right .pass_final_ci95)"
assert_eq "... held out" true "$(ev heval-right .held_out)"
NRIGHT=$(curl -s "http://127.0.0.1:$FAKE_PORT/fake/requests" | jq length)

# ---- wrong answers: 0% --------------------------------------------------------------

reflection_rule
fake_rule "$(he_answers wrong)"
assert_ok "the same file under a new set name, heval-wrong" \
    "$BT" --mount "$M" import "$HE" --format humaneval --set heval-wrong
assert_ok "wrong answers: the set is judged" wait_set heval-wrong 3 120
assert_eq "... 0 of 3 pass" '[3,0,0,0,0]' \
    "$(ev heval-wrong '[.judged, .passed, .passed_first, .pass_at_1, .pass_final]')"
assert_eq "... after the default 3 attempts each" 3 "$(ev heval-wrong .mean_attempts)"

# ---- training tasks after the evaluation: no evaluation text reaches them -----------

reflection_rule
fake_code "dec_eps(" 'def dec_eps(x):
    return x - 1'
echo '{"goal":"TRAIN_EPS: Write dec_eps(x) returning x minus 1, for math.","skills":["math"],"tests":"assert dec_eps(1) == 0"}' >"$M/tasks/new"
assert_ok "a later training task passes" wait_status task_000008 passed 60
# Memory off against memory on, for the same goal: the one recalls
# TRAIN_EPS (its code holds "dec_eps(": that rule goes), the other nothing.
reflection_rule
fake_code "dec_zeta(" 'def dec_zeta(x):
    return x - 1'
printf '%s\n' \
    '{"goal":"TRAIN_ZETA_ON: Write dec_zeta(x) returning x minus 1, for math.","skills":["math"],"tests":"assert dec_zeta(1) == 0"}' \
    '{"goal":"TRAIN_ZETA_OFF: Write dec_zeta(x) returning x minus 1, for math.","skills":["math"],"tests":"assert dec_zeta(1) == 0","memory":false}' \
    >"$M/tasks/new"
assert_ok "two more training tasks pass" wait_status task_000010 passed 60
assert_eq "..." passed "$(task_field task_000009 .status)"

REQS=$(curl -s "http://127.0.0.1:$FAKE_PORT/fake/requests")
echo "$REQS" >"$T/requests.json"
names=$(IFS='|'; echo "${ENTRIES[*]}")
assert_eq "no prompt holds the text of two evaluation problems" 0 \
    "$(jq --arg re "$names" '[.[] | .body | [scan($re)] | unique | select(length > 1)] | length' <<<"$REQS")"
assert_eq "the right answers' code reached the LLM (each in its own reflection)" true \
    "$(jq --arg re "$CANON" '[.[] | .body | select(test($re))] | length >= 3' <<<"$REQS")"
assert_eq "... and only in prompts of its own problem" 0 \
    "$(jq '[.[] | .body as $b | [["squares_total_s0", "sum_of_squares"],
        ["vowel_word_hits_s1", "count_vowel_words"], ["best_so_far_s2", "running_max"]][]
        | select(. as [$code, $name] | ($b | contains($code)) and ($b | contains($name) | not))]
        | length' <<<"$REQS")"
assert_eq "... none in the wrong set's prompts, which have the same problems" 0 \
    "$(jq --arg re "$CANON" --argjson n "$NRIGHT" '[.[$n:][] | .body | select(test($re))] | length' <<<"$REQS")"
assert_eq "the later training tasks' prompts hold no evaluation text" 0 \
    "$(jq --arg re "$names|Complete the Python function" '[.[] | .body | select(test("TRAIN_(EPS|ZETA)") and test($re))] | length' <<<"$REQS")"
assert_eq "... while training memory serves later tasks (the ranking is on)" true \
    "$(jq 'any(.[]; .body | contains("TRAIN_EPS") and contains("TRAIN_DELTA"))' <<<"$REQS")"
assert_eq "memory on: a task recalls the one with its goal" true \
    "$(jq 'any(.[]; .body | contains("Task:\\nTRAIN_ZETA_ON") and contains("memory of similar tasks") and contains("TRAIN_EPS"))' <<<"$REQS")"
assert_eq "memory false: the same goal recalls nothing" 0 \
    "$(jq '[.[] | .body | select(contains("Task:\\nTRAIN_ZETA_OFF") and contains("memory of similar tasks"))] | length' <<<"$REQS")"
assert_eq "set names never become skills: the skill map holds the tagger's" \
    "lists math strings" "$(jq -r 'keys | join(" ")' "$M/core/skill_map.json")"
assert_eq "... nor does any task's skills" "" \
    "$(jq -r '.skills[]' "$M"/tasks/task_[0-9]*.json | grep -E 'heval|humaneval' || true)"
# Sample/0 is lists and math, Sample/1 strings, Sample/2 lists (docs/import.md).
assert_eq "... yet the evaluation's results count in the skill map" '[4,6,2]' \
    "$(jq -c '[.lists.attempts, .math.attempts, .strings.attempts]' "$M/core/skill_map.json")"
assert_eq "the profile counts them too" 10 "$(jq -r .tasks_total "$M/core/builder_profile.json")"
assert_eq "eval/ lists the two sets" "heval-right.json heval-wrong.json" \
    "$(ls "$M/eval" | paste -sd' ')"

# ---- ablation: single shot against repair ----------------------------------------------

reflection_rule
fake_code "Your attempt 1 failed" 'def sq_abl(x):
    return x * x'
fake_code "sq_abl(" 'def sq_abl(x):
    return x + x'
for set in abl-full abl-single; do
    extra=""
    [ $set = abl-single ] && extra=',"max_attempts":1'
    printf '%s\n' \
        "{\"goal\":\"ABL_ONE: Write sq_abl(x) returning x squared.\",\"tests\":\"assert sq_abl(3) == 9\",\"set\":\"$set\",\"held_out\":true,\"memory\":false$extra}" \
        "{\"goal\":\"ABL_TWO: Write sq_abl(x), the square of x.\",\"tests\":\"assert sq_abl(4) == 16\",\"set\":\"$set\",\"held_out\":true,\"memory\":false$extra}" \
        >"$M/tasks/new"
done
assert_ok "ablation: both sets are judged" wait_set abl-single 2 90
assert_ok "..." wait_set abl-full 2 90
assert_eq "repair on (default): pass@1 0, after repair 1, 2 attempts each" '[0,1,2]' \
    "$(ev abl-full '[.pass_at_1, .pass_final, .mean_attempts]')"
assert_eq "single shot (max_attempts 1): pass@1 0, after repair 0, 1 attempt each" '[0,0,1]' \
    "$(ev abl-single '[.pass_at_1, .pass_final, .mean_attempts]')"
REQS=$(curl -s "http://127.0.0.1:$FAKE_PORT/fake/requests")
assert_eq "memory false: the ablation's prompts recall nothing" 0 \
    "$(jq '[.[] | .body | select(contains("ABL_") and contains("memory of similar tasks"))] | length' <<<"$REQS")"
stop_btfs

# ---- the Trainer: no set name, no evaluation text, never in a set -------------------------

fake_clear
content=$(jq -cn '{goal: "Write add_three(x) returning x plus 3.",
    tests: "assert add_three(1) == 4", hidden_tests: "assert add_three(-3) == 0",
    reference: "def add_three(x):\n    return x + 3"}')
fake_rule "$(jq -cn --arg c "$content" \
    '{kind: "reply", match: "You write programming exercises", content: $c}')"
BT_TRAINER=1 BT_BUILDERS=0 start_btfs
ok=0
for ((i = 0; i < 300; i++)); do
    if curl -s "http://127.0.0.1:$FAKE_PORT/fake/requests" |
        jq -e 'any(.[]; .body | contains("You write programming exercises"))' >/dev/null; then
        ok=1
        break
    fi
    sleep 0.1
done
assert_eq "the Trainer asked the LLM for a task" 1 "$ok"
REQS=$(curl -s "http://127.0.0.1:$FAKE_PORT/fake/requests")
assert_eq "... and no Trainer request names a set or holds evaluation text" 0 \
    "$(jq --arg re "heval|humaneval|abl-|ABL_|$names" '[.[] | .body | select(contains("You write programming exercises") and test($re))] | length' <<<"$REQS")"
ok=0
for ((i = 0; i < 300; i++)); do
    [ -e "$M/tasks/task_000015.json" ] && ok=1 && break
    sleep 0.1
done
assert_eq "... and queued the task it proposed" '[1,"trainer"]' \
    "$([ $ok = 1 ] && jq -c '[(.skills | length), .source]' "$M/tasks/task_000015.json")"
assert_eq "... of no set" null "$(task_field task_000015 .set)"
assert_eq "the sets count exactly their own tasks" '[3,3,2,2]' \
    "$(jq -sc 'map(.problems)' "$M"/eval/heval-right.json "$M"/eval/heval-wrong.json \
       "$M"/eval/abl-full.json "$M"/eval/abl-single.json)"
assert_eq "... as bt get-trend --set does" 3 \
    "$("$BT" --mount "$M" --json get-trend --set heval-right | jq .tasks)"
stop_btfs
stop_fake

finish
