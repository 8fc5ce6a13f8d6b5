#!/bin/bash
# trainer.sh -- the Trainer on a real mount, with the fake LLM and the real
# sandbox: it keeps a few checked tasks queued, writes its analysis and its
# reasons, refuses bad proposals (and says why), falls back to the seed
# curriculum when proposals are garbage or the LLM is down, and never gets
# ahead of user tasks.
. "${0%/*}/lib.sh" || exit 1

need_fake
need_sandbox

export BT_SEED=0 BT_TRAINER=1 BT_BUILDERS=0

# proposal TIMES GOAL TESTS HIDDEN REFERENCE: a rule answering the
# Trainer's request for a task with this proposal.
proposal() {
    local content
    content=$(jq -cn --arg g "$2" --arg t "$3" --arg h "$4" --arg r "$5" \
        '{goal: $g, tests: $t, hidden_tests: $h, reference: $r}')
    fake_rule "$(jq -cn --arg c "$content" --argjson n "$1" \
        '{kind: "reply", match: "You write programming exercises", times: $n, content: $c}')"
}

wait_for() {   # wait_for SECONDS CMD...: until CMD succeeds
    local limit=$(($1 * 10)) i
    shift
    for ((i = 0; i < limit; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

tasks_json() {
    local f
    for f in "$M"/tasks/task_[0-9]*.json; do
        [ -e "$f" ] && cat "$f"
    done | jq -s .
}

count_queued() {   # count_queued N: at least N tasks exist
    [ "$(ls "$M"/tasks/task_[0-9]*.json 2>/dev/null | wc -l)" -ge "$1" ]
}

# ---- proposals: one good, one bad, then garbage ------------------------------------

start_fake
proposal 1 "Write double_it(x: int) -> int that returns twice x." \
    "assert double_it(2) == 4
assert double_it(0) == 0" \
    "assert double_it(-3) == -6
assert double_it(10**6) == 2 * 10**6
def test_one():
    assert double_it(1) == 2" \
    "def double_it(x):
    return x + x  # the reference"
# A reference that fails its own hidden test: the gate must refuse it.
proposal 1 "Write halve(x: int) -> int that returns x divided by two, rounded down." \
    "assert halve(4) == 2" \
    "assert halve(5) == 2
assert halve(-3) == -2" \
    "def halve(x):
    return x // 3"
fake_rule '{"kind":"reply","match":"You write programming exercises","content":"Sure! Here is a fun task: reverse a string. Good luck!"}'
start_btfs

assert_ok "the trainer queues three tasks" wait_for 60 count_queued 3
TASKS=$(tasks_json)
assert_eq "the good proposal is queued as a trainer task" "trainer" \
    "$(jq -r '.[] | select(.goal | startswith("Write double_it")) | .source' <<<"$TASKS")"
assert_eq "... with its strategy and reason" true \
    "$(jq '[.[] | select(.source == "trainer")][0].trainer | (.strategy | type == "string") and (.reason | length > 10)' <<<"$TASKS")"
assert_eq "the refused proposal is not queued" 0 \
    "$(jq '[.[] | select(.goal | startswith("Write halve"))] | length' <<<"$TASKS")"
assert_eq "garbage proposals fall back to seed-curriculum tasks" true \
    "$(jq '[.[] | select(.source == "seed" and .trainer.fallback == true)] | length >= 1' <<<"$TASKS")"
LOGJ=$(cat "$M/advanced/trainer_log.json")
assert_match "trainer_log.json names the refusal by the gate" "reference_fails" "$LOGJ"
assert_match "... and the garbage" "no_json" "$LOGJ"
assert_eq "... keeping the rejected proposal beside its reason" true \
    "$(jq '[.entries[].rejected[]? | select(.reason | test("reference_fails"))][0].proposal | contains("def halve")' <<<"$LOGJ")"
assert_eq "... and the garbage as it came" true \
    "$(jq '[.entries[].rejected[]? | select(.reason | test("no_json"))][0].proposal | contains("reverse a string")' <<<"$LOGJ")"
assert_eq "... and every choice has a strategy, a skill and a reason" true \
    "$(jq '.entries | length >= 3 and all(.[]; (.strategy | length > 0) and (.skill | length > 0) and (.reason | length > 0))' <<<"$LOGJ")"
assert_eq "motivation_log.json explains each choice" true \
    "$(jq '.entries | length >= 3 and all(.[]; has("why") and has("weights"))' "$M/advanced/motivation_log.json")"
assert_match "shell.log records each admission check" \
    "trainer admission \([0-9]+ runs.*reference_fails" "$(cat "$M/logs/shell.log")"
assert_ok "an analysis was written" test -s "$M/advanced/builder_analysis_1.json"
assert_eq "... that parses and covers the catalogue" true \
    "$(jq '.skills | has("recursion") and has("strings")' "$M/advanced/builder_analysis_1.json")"
assert_eq "current_difficulty.json aims at the target success" 0.75 \
    "$(jq .target_success "$M/advanced/current_difficulty.json")"
assert_eq "strategy_weights.json has four weights summing to 1" true \
    "$(jq '.weights | length == 4 and ((add - 1) | fabs < 1e-6)' "$M/advanced/strategy_weights.json")"
assert_eq "no more than three trainer tasks wait" 3 \
    "$(tasks_json | jq '[.[] | select(.status == "queued")] | length')"

# A user task goes in while the trainer's wait.
printf '%s\n' '{"goal": "Write double_it(x) for the user.", "tests": "assert double_it(3) == 6"}' >"$M/tasks/new"
USER=$(ls "$M"/tasks/ | grep -o 'task_[0-9]*' | sort | tail -n 1)
stop_btfs

# ---- user tasks first ------------------------------------------------------------------

fake_clear
fake_rule '{"kind":"reply","match":"review your own work","content":"{\"summary\":\"doubles\",\"what_went_wrong\":\"\",\"lessons\":[\"multiply\"],\"concepts\":[\"arithmetic\"]}"}'
fake_rule "$(jq -cn --arg c $'```python\ndef double_it(x):\n    return 2 * x\n```' \
    '{kind: "reply", match: "double_it", content: $c}')"
fake_rule '{"kind":"reply","match":"You write programming exercises","content":"no"}'
BT_BUILDERS=1 start_btfs
assert_ok "with a builder, the user task runs" wait_for 60 \
    jq -e '.status == "passed"' "$M/tasks/$USER.json"
assert_eq "... before any trainer task started" true \
    "$(tasks_json | jq --arg u "$USER" '([.[] | select(.id == $u)][0].started_at) as $s |
        all(.[] | select(.source != "user" and .started_at != null); .started_at >= $s)')"
assert_ok "the trainer task is then built too" wait_for 60 \
    jq -e 'select(.goal | startswith("Write double_it(x: int)")) | .status == "passed"' \
    $(grep -l '"Write double_it(x: int)' "$M"/tasks/task_[0-9]*.json)
assert_eq "the reference solution never reached the Builder's prompts" false \
    "$(curl -s "http://127.0.0.1:$FAKE_PORT/fake/requests" | jq 'any(.[]; .body | contains("the reference"))')"
stop_btfs
stop_fake

# ---- the LLM is down -------------------------------------------------------------------

rm -rf "$D"
start_btfs              # BT_LLM_URL still points at the stopped fake
assert_ok "LLM down: the trainer still queues tasks, from the seed curriculum" \
    wait_for 60 count_queued 3
assert_eq "... all marked as fallbacks" true \
    "$(tasks_json | jq 'all(.[]; .source == "seed" and .trainer.fallback == true)')"
assert_match "... saying why" "the LLM is not available" "$(cat "$M/advanced/trainer_log.json")"
assert_ok "... and btfs keeps serving" cat "$M/status.json"
assert_eq "... each queued at the difficulty chosen and logged" true \
    "$(jq -n --argjson tasks "$(tasks_json)" --argjson log "$(cat "$M/advanced/trainer_log.json")" \
        '[$tasks[] | . as $t | ($log.entries[] | select(.task == $t.id) | .difficulty) as $d |
          (($t.difficulty - $d) | fabs) < 0.001] | length >= 3 and all')"
stop_btfs

# ---- the seed curriculum already queued: no duplicates ------------------------------

rm -rf "$D"
BT_SEED=1 start_btfs    # the curriculum is queued; the LLM is still down
sleep 4
assert_eq "fallbacks never queue a seed task already waiting" true \
    "$(tasks_json | jq '[.[] | select(.status == "queued") | .goal | ascii_downcase] | length == (unique | length)')"
assert_match "... and the Trainer says so" "already queued|queued task_" "$(cat "$M/logs/system.log")"
stop_btfs

finish
