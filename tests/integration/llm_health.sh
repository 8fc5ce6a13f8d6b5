#!/bin/bash
# llm_health.sh -- status.json tells the truth about the LLM: reachable or
# not, the model listed or not, recovery noticed within seconds, and a
# request in flight does not hold up a shutdown. The LLM is the fake
# OpenAI-compatible server (tests/fakellm), started and stopped here.
. "${0%/*}/lib.sh" || exit 1

need_fake

llm() {
    jq -c "$1" "$M/status.json"
}

# wait_for JQ_FILTER SECONDS: polls status.json until the filter is true.
wait_for() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        [ "$(jq -r "$1" "$M/status.json" 2>/dev/null)" = true ] && return 0
        sleep 0.1
    done
    return 1
}

# ---- a server with the model ------------------------------------------------

start_fake
BT_LLM_URL=$FAKE_URL start_btfs
assert_ok "status.json says the LLM is reachable" \
    wait_for '.llm.reachable == true and .llm.last_error == null' 10
assert_eq "... with the configured url and model" \
    "\"$FAKE_URL\" \"deepseek-coder-7b-instruct\"" "$(llm '.llm.url, .llm.model' | paste -sd' ')"
assert_match "system.log says it answers" "llm: .* answers, model deepseek-coder-7b-instruct listed" \
    "$(cat "$M/logs/system.log")"
assert_eq "the health check asked for /v1/models" true \
    "$(curl -s "http://127.0.0.1:$FAKE_PORT/fake/requests" | jq 'any(.[]; .path == "/v1/models")')"
assert_eq "logs/runtime.json carries the llm counters" true \
    "$(jq '.llm | has("calls") and has("prompt_tokens") and has("errors")' "$M/logs/runtime.json")"
stop_btfs
stop_fake

# ---- a server without the model, which then loads it ------------------------

start_fake
curl -s -d '["qwen2.5-coder-7b-instruct", "llama-3-8b"]' "http://127.0.0.1:$FAKE_PORT/fake/models" >/dev/null
BT_LLM_URL=$FAKE_URL start_btfs
assert_ok "a model the server does not list is reported" \
    wait_for '.llm.last_error != null' 10
assert_match "... by name, with what the server lists" \
    '^"no_model: model \\"deepseek-coder-7b-instruct\\" is not among the server.s models \(qwen2.5-coder-7b-instruct, llama-3-8b\)' \
    "$(llm .llm.last_error)"
assert_eq "... while the server itself is reachable" true "$(llm .llm.reachable)"
curl -s -d '["deepseek-coder-7b-instruct"]' "http://127.0.0.1:$FAKE_PORT/fake/models" >/dev/null
assert_ok "once the model is loaded, status.json clears the error within seconds" \
    wait_for '.llm.reachable == true and .llm.last_error == null' 15
stop_btfs
stop_fake

# ---- a server with one other model: that one is used, and said -------------

start_fake
curl -s -d '["/models/qwen2.5-coder-7b-instruct-q4_k_m.gguf"]' "http://127.0.0.1:$FAKE_PORT/fake/models" >/dev/null
BT_LLM_URL=$FAKE_URL start_btfs
assert_ok "the server's only model is used when ours is not listed" \
    wait_for '.llm.reachable == true and .llm.last_error == null and .llm.model_in_use == "/models/qwen2.5-coder-7b-instruct-q4_k_m.gguf"' 10
assert_match "... status.json says so" "using the server's only model" "$(llm .llm.note)"
assert_match "... and so does system.log" "llm: model \"deepseek-coder-7b-instruct\" is not listed; using the server's only model" \
    "$(cat "$M/logs/system.log")"
stop_btfs
stop_fake

# ---- no server, then one ------------------------------------------------------

start_fake                  # only to find a free port
PORT=$FAKE_PORT
stop_fake
BT_BUILDERS=1 BT_LLM_URL="http://127.0.0.1:$PORT/v1" start_btfs
assert_ok "no server: status.json says unreachable" \
    wait_for '.llm.reachable == false' 10
assert_match "... and why, by name" '^"refused: ' "$(llm .llm.last_error)"
assert_eq "... and the state is waiting_for_llm" '"waiting_for_llm"' "$(llm .state)"
assert_ok "the mount keeps working meanwhile" sh_c "echo 'reverse a list' > '$M/tasks/new'"
start_fake "$PORT"
fake_rule '{"kind":"reply","content":"```python\nprint(1)\n```"}'
assert_ok "when the server comes up, status.json says reachable within seconds" \
    wait_for '.llm.reachable == true and .llm.last_error == null' 20
assert_eq "... and the state is running again" '"running"' "$(llm .state)"
stop_btfs
stop_fake

# ---- a hanging server does not hold up a shutdown -----------------------------

start_fake
curl -s -d '{"kind":"hang","method":"GET","path":"/v1/models"}' \
    "http://127.0.0.1:$FAKE_PORT/fake/rules" >/dev/null
BT_LLM_URL=$FAKE_URL start_btfs
sleep 0.5                   # the health check is now waiting on the server
assert_eq "status.json has no answer yet" null "$(llm .llm.reachable)"
start=$(date +%s%N)
kill -TERM "$BTFS_PID"
wait_btfs_exit 10
took=$((($(date +%s%N) - start) / 1000000))
assert_eq "SIGTERM ends btfs cleanly during a hanging request" 0 "$BTFS_RC"
if [ "$took" -lt 3000 ]; then
    pass "... promptly ($took ms; the idle timeout is 120 s)"
else
    fail "... promptly" "took $took ms"
fi
BTFS_PID=""
stop_fake

finish
