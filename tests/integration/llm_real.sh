#!/bin/bash
# llm_real.sh -- the Builder against servers that fail as real ones do:
# a server answering every request with 500 (or an error inside a 200)
# leaves every task queued, with the reason in status.json and system.log,
# and the tasks pass once it recovers; 429, 503 and a 404 naming the model
# keep their reason in status.json on every sample while the agents wait;
# a server with a smaller context than btfs assumed never drains the
# queue: btfs learns the context from its error, only a task that cannot
# fit even bare ends `error` (with both numbers), and the others pass.
. "${0%/*}/lib.sh" || exit 1

: "${FAKELLM:?set FAKELLM to the fakellm binary}"
command -v curl >/dev/null || skip "curl is missing"
bwrap --unshare-all --ro-bind / / true 2>/dev/null || skip "bubblewrap cannot create namespaces here"

export BT_SEED=0 BT_TRAINER=0 BT_BUILDERS=1

reflection_rule() {
    fake_rule '{"kind":"reply","match":"review your own work","content":"{\"summary\": \"computes the answer\", \"what_went_wrong\": \"\", \"lessons\": [\"check edge cases first\"], \"concepts\": [\"arithmetic\"]}"}'
}

answer() {
    jq -Rs . <<<"\`\`\`python
$1
\`\`\`"
}

task_field() {
    jq -r "$2" "$M/tasks/$1.json"
}

wait_status() {
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        [ "$(task_field "$1" .status 2>/dev/null)" = "$2" ] && return 0
        sleep 0.1
    done
    echo "task $1 is $(task_field "$1" .status 2>/dev/null), not $2, after $3 s"
    return 1
}

# wait_json FILTER SECONDS: polls status.json until the jq filter is true.
wait_json() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        [ "$(jq -r "$1" "$M/status.json" 2>/dev/null)" = true ] && return 0
        sleep 0.1
    done
    echo "status.json: $(jq -c '{state, llm}' "$M/status.json")"
    return 1
}

# wait_for_task_goal TEXT SECONDS: until a task's goal contains TEXT.
wait_for_task_goal() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        cat "$M"/tasks/task_[0-9]*.json 2>/dev/null | grep -qF "$1" && return 0
        sleep 0.1
    done
    return 1
}

add_task() {
    printf '%s\n' "$1" >"$M/tasks/new"
}

# ---- a server failing every request --------------------------------------------

start_fake
fake_rule '{"kind":"status","status":500,"body":"{\"error\":{\"message\":\"CUDA error: out of memory\"}}"}'
start_btfs
add_task '{"goal": "Write double(x) returning 2 * x.", "tests": "assert double(2) == 4"}'
add_task '{"goal": "Write triple(x) returning 3 * x.", "tests": "assert triple(2) == 6"}'
assert_ok "500 forever: status.json says waiting_for_llm with the server's reason" \
    wait_json '.state == "waiting_for_llm" and (.llm.last_error // "" | test("server_error: HTTP 500: CUDA error"))' 30
assert_match "... and system.log names it" "llm: a request failed: server_error: HTTP 500: CUDA error" \
    "$(cat "$M/logs/system.log")"
assert_match "... the task went back to the queue, saying why" \
    "task_000001: the LLM is not available: server_error: HTTP 500" \
    "$(cat "$M/logs/system.log")"
sleep 8
# A task is "running" while a builder tries it again, else "queued".
assert_match "... and after more failures no task is failed for it" \
    "^(queued|running) (queued|running)$" \
    "$(task_field task_000001 .status) $(task_field task_000002 .status)"
assert_eq "... none has an attempt counted against it" "0 0" \
    "$(task_field task_000001 .attempts) $(task_field task_000002 .attempts)"

# An error inside a 200 is the server's too.
fake_clear
fake_rule '{"kind":"raw","body":"data: {\"error\":{\"message\":\"slot unavailable\"}}\n\n"}'
assert_ok "an error inside a 200: the reason shows, tasks wait" \
    wait_json '(.llm.last_error // "" | test("error_in_200"))' 40
assert_match "... still waiting" "^(queued|running) (queued|running)$" \
    "$(task_field task_000001 .status) $(task_field task_000002 .status)"

fake_clear
reflection_rule
fake_rule "{\"kind\":\"reply\",\"match\":\"double(\",\"content\":$(answer 'def double(x):
    return 2 * x')}"
fake_rule "{\"kind\":\"reply\",\"match\":\"triple(\",\"content\":$(answer 'def triple(x):
    return 3 * x')}"
assert_ok "once the server recovers, the tasks pass" wait_status task_000001 passed 90
assert_ok "... both" wait_status task_000002 passed 60
assert_eq "... on their first attempt (the failures were not theirs)" "1 1" \
    "$(task_field task_000001 .attempts) $(task_field task_000002 .attempts)"
assert_ok "... and status.json clears the error" \
    wait_json '.llm.last_error == null and .state == "running"' 15
assert_match "system.log says requests succeed again" "llm: requests succeed again" \
    "$(cat "$M/logs/system.log")"

# ---- 429, 503, 404: the reason on every sample while waiting ------------------------

N=3
for kind in 429:rate_limited 503:loading 404:no_model; do
    status=${kind%%:*}
    name=${kind#*:}
    fake_clear
    if [ "$status" = 404 ]; then
        fake_rule '{"kind":"status","status":404,"body":"{\"error\":{\"message\":\"model \\\"deepseek-coder-7b-instruct\\\" not found, try pulling it first\"}}"}'
    else
        fake_rule "{\"kind\":\"status\",\"status\":$status}"
    fi
    add_task "{\"goal\": \"Write f$N() returning $N.\", \"tests\": \"assert f$N() == $N\"}"
    id=$(printf 'task_%06d' "$N")
    wait_json "(.llm.last_error // \"\" | test(\"^$name: \")) and .state == \"waiting_for_llm\"" 40 ||
        fail "$status: the reason reaches status.json"
    bad=0
    for ((i = 0; i < 10; i++)); do
        s=$(jq -c '[.state, .llm.last_error]' "$M/status.json")
        [[ "$s" == "[\"waiting_for_llm\",\"$name: "* ]] || { bad=1; echo "sample $i: $s"; }
        sleep 0.5
    done
    assert_eq "$status: every sample while waiting says $name" 0 "$bad"
    assert_match "... and the task waits" "^(queued|running)$" "$(task_field "$id" .status)"
    N=$((N + 1))
done
stop_btfs
stop_fake

# ---- a task interrupted by the LLM going away resumes where it was --------------------

start_fake
rm -rf "$D"
start_btfs
reflection_rule
fake_rule '{"kind":"status","status":503,"match":"Your attempt 1 failed","body":"{\"error\":{\"message\":\"Loading model\"}}"}'
fake_rule "{\"kind\":\"reply\",\"match\":\"cube(\",\"content\":$(answer 'def cube(x):
    return x * 3')}"
add_task '{"goal": "Write cube(x) returning x cubed.", "tests": "assert cube(2) == 8"}'
assert_ok "LLM away at attempt 2: the task goes back to the queue" \
    wait_json '(.llm.last_error // "" | test("^loading: "))' 40
assert_ok "... queued" wait_status task_000001 queued 20
assert_eq "... with its attempt kept" 1 "$(task_field task_000001 .attempts)"
fake_clear
reflection_rule
fake_rule "{\"kind\":\"reply\",\"match\":\"Your attempt 1 failed\",\"content\":$(answer 'def cube(x):
    return x ** 3')}"
fake_rule "{\"kind\":\"reply\",\"match\":\"cube(\",\"content\":$(answer 'def cube(x):
    return x * 3')}"
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
stop_btfs
stop_fake

# ---- a server with a smaller context --------------------------------------------------

# The server counts 4 bytes a token and holds 700; btfs assumes 4096 until
# the server's error says otherwise.
start_fake
curl -s -d '{"n_ctx": 700}' "http://127.0.0.1:$FAKE_PORT/fake/server" >/dev/null
reflection_rule
fake_rule "{\"kind\":\"reply\",\"match\":\"square(\",\"content\":$(answer 'def square(x):
    return x * x')}"
fake_rule "{\"kind\":\"reply\",\"match\":\"half(\",\"content\":$(answer 'def half(x):
    return x / 2')}"
rm -rf "$D"
BT_LLM_MAX_TOKENS=200 start_btfs
long=$(python3 -c 'print("Write square(x) returning x squared. " + "Be careful with every detail of the input. " * 90)')
add_task "{\"goal\": \"$long\", \"tests\": \"assert square(3) == 9\"}"
add_task '{"goal": "Write half(x) returning x / 2.", "tests": "assert half(4) == 2"}'
assert_ok "small context: a task that fits passes" wait_status task_000002 passed 60
assert_ok "... the one that cannot fit even bare ends in error" wait_status task_000001 error 60
assert_match "... with both numbers in the reason" \
    "needs about [0-9]+ tokens of prompt but the model's context \(700 tokens" \
    "$(task_field task_000001 .result.reason)"
assert_eq "status.json shows the server's context" "700 server" \
    "$(jq -r '"\(.llm.context) \(.llm.context_from)"' "$M/status.json")"
assert_match "system.log names the setting" "BT_LLM_CONTEXT=700" "$(cat "$M/logs/system.log")"
assert_eq "no other task was lost to it" 0 "$(jq length "$M/tasks/task_queue.json")"
stop_btfs
stop_fake

# ---- teacher and student: the Trainer on its own server -------------------------------

start_fake
"$FAKELLM" --port 0 --port-file "$T/teacher.port" >>"$T/fake.log" 2>&1 &
TEACHER_PID=$!
EXTRA_PIDS+=("$TEACHER_PID")
for ((i = 0; i < 50; i++)); do [ -s "$T/teacher.port" ] && break; sleep 0.1; done
TEACHER_URL="http://127.0.0.1:$(cat "$T/teacher.port")/v1"
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
for ((i = 0; i < 300; i++)); do teacher_asked && break; sleep 0.1; done
assert_ok "the Trainer asks the teacher for tasks" teacher_asked
assert_eq "... and never the Builder's server" false \
    "$(curl -s "http://127.0.0.1:$FAKE_PORT/fake/requests" | jq 'any(.[]; .path == "/v1/chat/completions")')"
assert_ok "the teacher's task is queued" wait_for_task_goal "Write inc(x)" 60
stop_btfs
kill -TERM "$TEACHER_PID" 2>/dev/null || true
wait "$TEACHER_PID" 2>/dev/null || true
stop_fake

finish
