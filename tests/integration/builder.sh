#!/bin/bash
# builder.sh -- the Builder end to end on a real mount, with the fake LLM
# (tests/fakellm) and the real sandbox: a right answer passes and leaves
# every file; a wrong then right answer passes on attempt 2 with the error
# in the second prompt; hidden tests never reach the LLM; answers without
# code fail the task and the loop goes on; tasks wait while the LLM is down
# and while paused; kill -9 mid-task, restart, and the task finishes once;
# two builders share the queue.
. "${0%/*}/lib.sh" || exit 1

need_fake
need_sandbox

export BT_SEED=0 BT_TRAINER=0 BT_BUILDERS=1

# Each scenario starts from fresh rules: prompts carry memory of earlier
# tasks (their goals and code), so an older rule could match a newer prompt.
reflection_rule() {
    fake_clear
    fake_reflection
}

start_fake
reflection_rule
fake_code 'square(' 'def square(x):
    return x * x'
start_btfs

# ---- a right answer ------------------------------------------------------------

add_task '{"goal": "Write square(x) returning x squared.", "skills": ["math"], "tests": "assert square(2) == 4", "hidden_tests": "assert square(3) == 9\nassert square(-4) == 16\ndef test_zero():\n    assert square(0) == 0"}'
assert_ok "a right answer: the task passes" wait_status task_000001 passed 30
assert_eq "... on attempt 1" 1 "$(task_field task_000001 .attempts)"
assert_eq "... judged by the 3 hidden tests" "3/3" \
    "$(task_field task_000001 '"\(.result.tests_passed)/\(.result.tests_total)"')"
assert_eq "... with a score of four parts and a total" true \
    "$(task_field task_000001 '.score | has("accuracy") and has("speed") and has("elegance") and has("difficulty") and has("total")')"
assert_eq "... accuracy 1" 1 "$(task_field task_000001 .score.accuracy)"
assert_eq "... and what it cost: 2 LLM calls (code, reflection), 3 sandbox runs" "2 3" \
    "$(task_field task_000001 '"\(.result.usage.llm_calls) \(.result.usage.sandbox_runs)"')"
assert_match "its code is archived" "return x \* x" "$(cat "$M"/code_archive/task_000001/* 2>&1)"
assert_match "its reflection is stored" "check edge cases first" \
    "$(cat "$M/core/reflections.json")"
assert_eq "the score log has one entry for it" 1 \
    "$(jq '[.[] | select(.task == "task_000001")] | length' "$M/core/score_log.json")"
assert_eq "the skill map counts the attempt" "1 1" \
    "$(jq -r '.math | "\(.attempts) \(.successes)"' "$M/core/skill_map.json")"
assert_eq "the profile counts the task" "1 1" \
    "$(jq -r '"\(.tasks_total) \(.passed)"' "$M/core/builder_profile.json")"
assert_match "learned concepts name the task" '"task_000001"' \
    "$(jq -c '.concepts[] | select(.name == "arithmetic") | .tasks' "$M/advanced/learned_concepts.json")"
assert_match "system.log has the steps" "builder 0: task_000001: passed after 1 attempt" \
    "$(cat "$M/logs/system.log")"
assert_match "shell.log has the sandbox runs" "task_000001 .*hidden tests: .*bubblewrap" \
    "$(cat "$M/logs/shell.log")"
assert_match "... the lint run too" "task_000001 lint: " "$(cat "$M/logs/shell.log")"
REQS=$(curl -s "http://127.0.0.1:$FAKE_PORT/fake/requests")
assert_eq "the visible test reached the LLM" true \
    "$(jq 'any(.[]; .body | contains("square(2) == 4"))' <<<"$REQS")"
assert_eq "hidden tests never reached the LLM" false \
    "$(jq 'any(.[]; .body | contains("square(3)") or contains("-4") or contains("test_zero"))' <<<"$REQS")"

# ---- wrong, then right ----------------------------------------------------------

reflection_rule
fake_code 'Your attempt 1 failed' 'def cube(x):
    return x ** 3'
fake_code 'cube(' 'def cube(x):
    return x * 3'
add_task '{"goal": "Write cube(x) returning x cubed.", "skills": ["math"], "tests": "assert cube(2) == 8", "hidden_tests": "assert cube(3) == 27"}'
assert_ok "wrong then right: the task passes" wait_status task_000002 passed 30
assert_eq "... on attempt 2" 2 "$(task_field task_000002 .attempts)"
assert_eq "... with no failure kind" null "$(task_field task_000002 .result.failure)"
REQS=$(curl -s "http://127.0.0.1:$FAKE_PORT/fake/requests")
assert_eq "... and the second prompt carried the error output" true \
    "$(jq '[.[] | select(.body | contains("Your attempt 1 failed"))][0].body | fromjson | .messages[1].content | contains("0 of 1 tests passed")' <<<"$REQS")"
assert_eq "both attempts are archived" 2 "$(ls "$M/code_archive/task_000002" | wc -l)"

# ---- no code at all --------------------------------------------------------------

reflection_rule
fake_rule '{"kind":"reply","match":"poem","content":"I am sorry, I cannot write code for that. Roses are red."}'
add_task '{"goal": "Write a poem generator poem().", "tests": "assert poem()"}'
assert_ok "answers without code: the task fails" wait_status task_000003 failed 30
assert_match "... saying why" "no code" "$(task_field task_000003 .result.reason)"
assert_eq "... and of which kind, for the Trainer" "no_code" "$(task_field task_000003 .result.failure)"
fake_code 'square(' 'def square(x):
    return x * x'
add_task '{"goal": "Write square(x) again, returning x squared.", "tests": "assert square(5) == 25"}'
assert_ok "... and the loop goes on" wait_status task_000004 passed 30

# ---- the LLM goes away --------------------------------------------------------------

stop_fake
sleep 0.5
add_task '{"goal": "Write square(x) while the LLM is away.", "tests": "assert square(6) == 36"}'
# The first call is refused (and retried a few times within it); the task
# then goes back to the queue and the builders wait for the monitor.
assert_ok "LLM down: status.json says waiting_for_llm, with the reason" \
    wait_json '.state == "waiting_for_llm" and (.llm.last_error // "" | test("refused"))' 30
assert_ok "... and the task is back in the queue" wait_status task_000005 queued 10
sleep 1
assert_eq "... where it stays" queued "$(task_field task_000005 .status)"
start_fake "$FAKE_PORT"
reflection_rule
fake_code 'square(' 'def square(x):
    return x * x'
assert_ok "... and passes once the LLM is back" wait_status task_000005 passed 60

# ---- pause and resume --------------------------------------------------------------------

echo pause >"$M/control"
add_task '{"goal": "Write square(x) while paused.", "tests": "assert square(7) == 49"}'
sleep 1.5
assert_eq "paused: the task stays queued" queued "$(task_field task_000006 .status)"
echo resume >"$M/control"
assert_ok "resumed: it passes" wait_status task_000006 passed 30

# ---- kill -9 in the middle of a task ------------------------------------------------------

reflection_rule
fake_rule "{\"kind\":\"reply\",\"match\":\"slowly\",\"delay_ms\":400,\"chunk_bytes\":4,\"content\":$(fake_answer 'def square(x):
    return x * x')}"
fake_code 'square(' 'def square(x):
    return x * x'
add_task '{"goal": "Write square(x) slowly.", "tests": "assert square(8) == 64"}'
assert_ok "a slow task starts running" wait_status task_000007 running 10
kill9_btfs
start_btfs
assert_ok "after kill -9 and a restart it is requeued and passes" wait_status task_000007 passed 60
assert_eq "... with one score entry" 1 \
    "$(jq '[.[] | select(.task == "task_000007")] | length' "$M/core/score_log.json")"
stop_btfs

# ---- two builders ----------------------------------------------------------------------------

BT_BUILDERS=2 start_btfs
for i in 1 2 3 4 5 6; do
    add_task "{\"goal\": \"Write square(x), copy $i.\", \"tests\": \"assert square($i) == $((i * i))\"}"
done
ok=1
for id in 8 9 10 11 12 13; do
    wait_status "task_0000$(printf %02d $id)" passed 60 || ok=0
done
assert_eq "two builders: all six pass" 1 "$ok"
assert_eq "... each judged once" 6 \
    "$(jq '[.[] | select(.task | test("task_0000(0[89]|1[0-3])"))] | length' "$M/core/score_log.json")"
assert_match "... builder 0 worked" "builder 0: task_0000(0[89]|1[0-3]): passed" "$(cat "$M/logs/system.log")"
assert_match "... builder 1 worked" "builder 1: task_0000(0[89]|1[0-3]): passed" "$(cat "$M/logs/system.log")"
# ---- a HumanEval-format file imports and runs ------------------------------------------

reflection_rule
# Imported problems show their docstring examples as visible tests, so the
# Builder writes none of its own (the rule below must stay unused); then it
# writes each function.
fake_rule '{"kind":"reply","match":"You write tests","content":"{\"tests\": \"def test_runs():\\n    assert True\"}"}'
fake_code 'sum_of_squares' 'def sum_of_squares(numbers):
    return sum(n * n for n in numbers)'
fake_code 'count_vowel_words' 'def is_vowel(c):
    return c.lower() in "aeiou"

def count_vowel_words(sentence):
    return sum(1 for w in sentence.split(" ") if w and is_vowel(w[0]))'
fake_code 'running_max' 'def running_max(numbers):
    return [n - 1 for n in numbers]'
assert_ok "bt import --format humaneval queues the sample" \
    "$BT" --mount "$M" import --format humaneval "$SRCDIR/tests/data/humaneval_sample.jsonl"
ok=1
for id in 14 15 16; do
    st=""
    for ((i = 0; i < 600; i++)); do
        st=$(task_field "task_0000$id" .status)
        case $st in passed|failed|error) break ;; esac
        sleep 0.1
    done
    [ "$st" = passed ] || [ "$st" = failed ] || ok=0
done
assert_eq "... and the three problems are judged" 1 "$ok"
assert_eq "... two right answers pass, the wrong one fails" "passed passed failed" \
    "$(for id in 14 15 16; do task_field "task_0000$id" .status; done | paste -sd' ')"
assert_eq "... the docstring's examples are their visible tests, not self-written" \
    '["assert sum_of_squares([1, 2, 3]) == 14\nassert sum_of_squares([]) == 0\n",false]' \
    "$(jq -c '[.tests, .result.tests_self_written]' "$M/tasks/task_000014.json")"
assert_eq "... and the hidden tests decided" 1 "$(task_field task_000014 .result.hidden.total)"
assert_match "bt get-trend --set humaneval shows the pass rate" "2 of 3 judged" \
    "$("$BT" --mount "$M" get-trend --set humaneval 2>&1)"
REQS=$(curl -s "http://127.0.0.1:$FAKE_PORT/fake/requests")
assert_eq "the HumanEval check() code never reached the LLM" false \
    "$(jq 'any(.[]; .body | contains("def check(candidate)"))' <<<"$REQS")"
stop_btfs
stop_fake

finish
