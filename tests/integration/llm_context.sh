#!/bin/bash
# llm_context.sh -- real servers' limits: a task interrupted by the LLM
# going away resumes at its step (attempts, code and usage kept); a server
# with a smaller context than btfs assumed never drains the queue: btfs
# learns the context from its error and cuts the middle of long goals,
# tests and test output to fit, and only a task that cannot fit even bare ends `error`
# (with both numbers); the Trainer may have its own (teacher) server.
. "${0%/*}/lib.sh" || exit 1

need_fake
need_sandbox

export BT_SEED=0 BT_TRAINER=0 BT_BUILDERS=1

# wait_for_task_goal TEXT SECONDS: until a task's goal contains TEXT.
wait_for_task_goal() {
    local end=$((SECONDS + $2))
    while [ "$SECONDS" -lt "$end" ]; do
        cat "$M"/tasks/task_[0-9]*.json 2>/dev/null | grep -qF "$1" && return 0
        sleep 0.2
    done
    return 1
}

# ---- a task interrupted by the LLM going away resumes where it was --------------------

start_fake
rm -rf "$D"
start_btfs
fake_reflection
fake_rule '{"kind":"status","status":503,"match":"Your attempt 1 failed","body":"{\"error\":{\"message\":\"Loading model\"}}"}'
fake_code 'cube(' 'def cube(x):
    return x * 3'
add_task '{"goal": "Write cube(x) returning x cubed.", "tests": "assert cube(2) == 8"}'
assert_ok "LLM away at attempt 2: the task goes back to the queue" \
    wait_json '(.llm.last_error // "" | test("^loading: "))' 40
assert_ok "... queued" wait_status task_000001 queued 20
assert_eq "... with its attempt kept" 1 "$(task_field task_000001 .attempts)"
fake_clear
fake_reflection
fake_code 'Your attempt 1 failed' 'def cube(x):
    return x ** 3'
fake_code 'cube(' 'def cube(x):
    return x * 3'
assert_ok "... and it passes once the LLM is back" wait_status task_000001 passed 60
assert_eq "... on attempt 2: the count did not reset" 2 "$(task_field task_000001 .attempts)"
REQS=$(curl -s "http://127.0.0.1:$FAKE_PORT/fake/requests")
assert_eq "... attempt 1 was not asked again" 1 \
    "$(jq '[.[] | select(.path == "/v1/chat/completions") | .body | select(contains("cube(") and (contains("attempt 1 failed") or contains("review your own work") | not))] | length' <<<"$REQS")"
assert_eq "... both attempts are archived" 2 "$(ls "$M/code_archive/task_000001" | wc -l)"
# attempt 1, the failed attempt 2 (once or more: the builder may try again
# before the server is back), attempt 2, the reflection; a fresh start
# would have counted 2.
calls=$(task_field task_000001 .result.usage.llm_calls)
if [ "$calls" -ge 4 ]; then
    pass "... and its usage counts the first run's calls ($calls)"
else
    fail "... and its usage counts the first run's calls" "llm_calls: $calls, want >= 4"
fi
assert_match "system.log says it resumed" "task_000001: resumed after 1 attempt" \
    "$(cat "$M/logs/system.log")"
# A task without tests: the tests the model wrote before the LLM went away
# are kept, not asked for again.
fake_clear
fake_rule '{"kind":"reply","match":"Write Python tests","content":"{\"tests\": \"assert sq3(2) == 8\"}"}'
fake_rule '{"kind":"status","status":503,"match":"written for this task","body":"{\"error\":{\"message\":\"Loading model\"}}"}'
add_task 'Write sq3(x) returning x cubed.'
# Waited for in system.log: status.json's last_error may still hold the
# first task's 503, and task_000002 is queued before it is first taken.
assert_ok "LLM away after the tests were written: the task goes back to the queue" \
    wait_log 'task_000002: back on the queue \(the LLM is not available\)' 40
assert_ok "... after writing its tests" wait_log 'task_000002: wrote its own tests' 1
assert_ok "... queued" wait_status task_000002 queued 20
fake_clear
fake_reflection
fake_rule '{"kind":"reply","match":"Write Python tests","content":"{\"tests\": \"assert sq3(3) == 27\"}"}'
fake_code 'sq3(' 'def sq3(x):
    return x ** 3'
assert_ok "... and passes once the LLM is back" wait_status task_000002 passed 60
assert_eq "... judged by its own tests" true "$(task_field task_000002 .result.tests_self_written)"
# Had they been asked for again after the LLM came back, the new rule's
# tests (sq3(3) == 27) would be in the code prompts. (Counting the requests
# for tests is not the measure: the client may resend one on its own.)
REQS=$(curl -s "http://127.0.0.1:$FAKE_PORT/fake/requests")
code_sq3='[.[] | select(.path == "/v1/chat/completions") | .body | select(contains("sq3") and contains("written for this task"))]'
assert_eq "... which were not asked for again: no code prompt holds new tests" 0 \
    "$(jq "$code_sq3 | map(select(contains(\"sq3(3) == 27\"))) | length" <<<"$REQS")"
n_code=$(jq "$code_sq3 | length" <<<"$REQS")
if [ "$n_code" -ge 2 ]; then
    pass "... a code prompt before the LLM went away and one after ($n_code)"
else
    fail "... a code prompt before the LLM went away and one after" "code prompts: $n_code, want >= 2"
fi
assert_eq "... every code prompt holds the tests written first" \
    "$(jq "$code_sq3 | length" <<<"$REQS")" \
    "$(jq "$code_sq3 | map(select(contains(\"sq3(2) == 8\"))) | length" <<<"$REQS")"
stop_btfs
stop_fake

# ---- a server with a smaller context --------------------------------------------------

# The server counts 4 bytes a token and holds 700; btfs assumes 4096 until
# the server's error says otherwise.
start_fake
curl -s -d '{"n_ctx": 700}' "http://127.0.0.1:$FAKE_PORT/fake/server" >/dev/null
fake_reflection
fake_code 'square(' 'def square(x):
    return x * x'
fake_code 'half(' 'def half(x):
    return x / 2'
rm -rf "$D"
BT_LLM_MAX_TOKENS=200 start_btfs
long=$(python3 -c 'print("Write square(x) returning x squared. " + "Be careful with every detail of the input. " * 90)')
add_task "{\"goal\": \"$long\", \"tests\": \"assert square(3) == 9\"}"
# Twelve long asserts: many bytes, few tests (the sandbox runs each).
tests=$(python3 -c 'print("\\n".join("assert half(%d) == %d, \x27half of %d is %d; %s\x27" % (2 * i, i, 2 * i, i, "x" * 180) for i in range(12)))')
add_task "{\"goal\": \"Write half(x) returning x / 2.\", \"tests\": \"$tests\"}"
assert_ok "small context: a task with a goal too long for it passes, cut" wait_status task_000001 passed 60
assert_ok "... and so does one with long tests" wait_status task_000002 passed 60
assert_match "... the prompts were cut, and said so" \
    "task_000001: the prompt was cut to fit the model's context.*task_000002: the prompt was cut" \
    "$(tr '\n' ' ' <"$M/logs/system.log")"
assert_eq "... marked as cut in what the model read" true \
    "$(curl -s "http://127.0.0.1:$FAKE_PORT/fake/requests" | jq 'any(.[]; .body | contains("bytes cut to fit the model'"'"'s context"))')"
assert_eq "... while every test still judged the code" "12/12" \
    "$(task_field task_000002 '"\(.result.tests_passed)/\(.result.tests_total)"')"
assert_eq "status.json shows the server's context" "700 server" \
    "$(jq -r '"\(.llm.context) \(.llm.context_from)"' "$M/status.json")"
assert_match "system.log names the setting" "BT_LLM_CONTEXT=700" "$(cat "$M/logs/system.log")"
# A short task whose first attempt fails with long error output: the retry
# quotes the middle-cut output back instead of ending the task in error.
fake_code 'Your attempt 1 failed' 'def cube(x):
    return x ** 3'
fake_code 'cube(' 'import sys
sys.stderr.write("noise for the log, one line after another\n" * 150)
def cube(x):
    return x * 3'
add_task '{"goal": "Write cube(x) returning x cubed.", "tests": "assert cube(2) == 8"}'
assert_ok "a retry whose test output does not fit the context still runs" wait_status task_000003 passed 60
assert_eq "... as attempt 2" 2 "$(task_field task_000003 .attempts)"
assert_match "... with the test output cut, and said so" \
    "task_000003: the prompt was cut to fit the model's context \(.*test output [0-9]+ of [0-9]+\)" \
    "$(cat "$M/logs/system.log")"
assert_eq "... marked as cut in the retry's prompt" true \
    "$(curl -s "http://127.0.0.1:$FAKE_PORT/fake/requests" | jq 'any(.[]; .body | contains("Your attempt 1 failed") and contains("noise for the log") and contains("bytes cut to fit the model'"'"'s context"))')"
stop_btfs

# A setting larger than the server's context: every call comes back
# context_too_long. That is the configuration's fault, not the tasks': the
# Builder waits with status.json naming what to set, and the queue stays.
rm -rf "$D"
BT_LLM_CONTEXT=4096 BT_LLM_MAX_TOKENS=200 start_btfs
for i in 1 2 3; do
    add_task "{\"goal\": \"$long\", \"tests\": \"assert square($i) == $((i * i))\"}"
done
assert_ok "a server with a smaller context than BT_LLM_CONTEXT: status.json says what to set" \
    wait_json '.state == "waiting_for_llm" and (.llm.last_error // "" | test("^context_too_long: .*set BT_LLM_CONTEXT=700"))' 30
sleep 3
assert_eq "... and the queue is not drained: every task still waits" "queued queued queued" \
    "$(for t in task_000001 task_000002 task_000003; do task_field $t .status; done | sed 's/running/queued/' | tr '\n' ' ' | sed 's/ $//')"
assert_no_match "... none of them failed" "task_00000[123]: (error|failed)" \
    "$(cat "$M/logs/system.log")"
stop_btfs

# A context too small for any task: only then does a task end in error, with
# both numbers; the queue is not drained by the server's refusals.
rm -rf "$D"
BT_LLM_CONTEXT=128 BT_LLM_MAX_TOKENS=64 start_btfs
add_task '{"goal": "Write half(x) returning x / 2.", "tests": "assert half(4) == 2"}'
assert_ok "a task that cannot fit even bare ends in error" wait_status task_000001 error 60
assert_match "... with both numbers in the reason" \
    "needs about [0-9]+ tokens of prompt but the model's context \(128 tokens, 64 kept for the answer\) leaves [0-9]+" \
    "$(task_field task_000001 .result.reason)"
assert_eq "... and nothing was sent for it" false \
    "$(curl -s "http://127.0.0.1:$FAKE_PORT/fake/requests" | jq 'any(.[]; .path == "/v1/chat/completions" and (.body | contains("half(4)")))')"
stop_btfs
stop_fake

# ---- the Trainer at a small context ----------------------------------------------------

# Its request shows earlier goals of the skill as examples; at 700 tokens
# they do not fit, and are what goes, so that the Trainer still asks.
start_fake
curl -s -d '{"n_ctx": 700, "llama": true}' "http://127.0.0.1:$FAKE_PORT/fake/server" >/dev/null
fake_rule "$(jq -cn --arg c '{"goal": "Write inc(x) returning x + 1.", "tests": "assert inc(1) == 2", "hidden_tests": "assert inc(-1) == 0\nassert inc(10) == 11", "reference": "def inc(x):\n    return x + 1"}' \
    '{kind: "reply", match: "You write programming exercises", content: $c}')"
rm -rf "$D"
BT_TRAINER=1 BT_BUILDERS=0 start_btfs
assert_ok "a small context: the Trainer's proposal is asked and queued" wait_for_task_goal "Write inc(x)" 30
assert_eq "... as a trainer task, not a fallback" trainer "$(task_field task_000001 .source)"
assert_match "... its examples dropped, and said so" "trainer: proposal prompt: [0-9] of [0-9] earlier goals shown, to fit the model's context" \
    "$(cat "$M/logs/system.log")"
stop_btfs
stop_fake

# ---- teacher and student: the Trainer on its own server -------------------------------

start_fake
spawn_fake 0 teacher
TEACHER_PID=$SPAWNED_PID
TEACHER_URL=$SPAWNED_URL
curl -s -d '["qwen2.5-coder-32b-instruct"]' "${TEACHER_URL%/v1}/fake/models" >/dev/null
curl -s -d "$(jq -cn --arg c '{"goal": "Write inc(x) returning x + 1.", "tests": "assert inc(1) == 2", "hidden_tests": "assert inc(-1) == 0\nassert inc(10) == 11\ndef test_zero():\n    assert inc(0) == 1", "reference": "def inc(x):\n    return x + 1"}' \
    '{kind: "reply", match: "You write programming exercises", content: $c}')" \
    "${TEACHER_URL%/v1}/fake/rules" >/dev/null
rm -rf "$D"
BT_TRAINER=1 BT_BUILDERS=0 BT_TRAINER_LLM_URL=$TEACHER_URL \
    BT_TRAINER_LLM_MODEL=qwen2.5-coder-32b-instruct start_btfs
assert_ok "the Trainer's own server shows in status.json beside the Builder's" \
    wait_json ".trainer_llm.url == \"$TEACHER_URL\" and .trainer_llm.reachable == true and .llm.url == \"$FAKE_URL\"" 20
assert_eq "... with its own model" qwen2.5-coder-32b-instruct "$(jq -r .trainer_llm.model "$M/status.json")"
assert_eq "config.json shows both" "$FAKE_URL $TEACHER_URL qwen2.5-coder-32b-instruct" \
    "$(jq -r '"\(.llm_url) \(.trainer_llm_url) \(.trainer_llm_model)"' "$M/config.json")"
teacher_asked() {
    curl -s "${TEACHER_URL%/v1}/fake/requests" |
        jq -e 'any(.[]; .path == "/v1/chat/completions" and (.body | contains("You write programming exercises") and contains("qwen2.5-coder-32b-instruct")))' >/dev/null
}
end=$((SECONDS + 40)); while [ "$SECONDS" -lt "$end" ] && ! teacher_asked; do sleep 0.2; done
assert_ok "the Trainer asks the teacher for tasks" teacher_asked
assert_eq "... and never the Builder's server" false \
    "$(curl -s "http://127.0.0.1:$FAKE_PORT/fake/requests" | jq 'any(.[]; .path == "/v1/chat/completions")')"
assert_ok "the teacher's task is queued" wait_for_task_goal "Write inc(x)" 60
stop_btfs
stop_pid "$TEACHER_PID"
stop_fake

finish
