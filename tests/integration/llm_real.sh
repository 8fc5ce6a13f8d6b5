#!/bin/bash
# llm_real.sh -- the Builder against servers that fail as real ones do:
# a server answering every request with 500 (or an error inside a 200)
# leaves every task queued, with the reason in status.json and system.log,
# and the tasks pass once it recovers; 429, 503 and a 404 naming the model
# keep their reason in status.json on every sample while the agents wait.
. "${0%/*}/lib.sh" || exit 1

need_fake
need_sandbox

export BT_SEED=0 BT_TRAINER=0 BT_BUILDERS=1

# ---- a server failing every request --------------------------------------------

start_fake
fake_rule '{"kind":"status","status":500,"body":"{\"error\":{\"message\":\"CUDA error: out of memory\"}}"}'
start_btfs
add_task '{"goal": "Write double(x) returning 2 * x.", "tests": "assert double(2) == 4"}'
add_task '{"goal": "Write triple(x) returning 3 * x.", "tests": "assert triple(2) == 6"}'
assert_ok "500 forever: status.json says waiting_for_llm with the server's reason" \
    wait_json '.state == "waiting_for_llm" and (.llm.last_error // "" | test("server_error: HTTP 500: CUDA error"))' 30
assert_ok "... and system.log names it" \
    wait_log "llm: a request failed: server_error: HTTP 500: CUDA error" 15
assert_ok "... the task went back to the queue, saying why" \
    wait_log "task_000001: the LLM is not available: server_error: HTTP 500" 15
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
fake_reflection
fake_code 'double(' 'def double(x):
    return 2 * x'
fake_code 'triple(' 'def triple(x):
    return 3 * x'
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
# A missing model needs someone to act (load or pull it): "stalled"; the
# others pass by themselves: "waiting_for_llm". Either way the reason stays.
for kind in 429:rate_limited:waiting_for_llm 503:loading:waiting_for_llm \
            404:no_model:stalled; do
    status=${kind%%:*}
    rest=${kind#*:}
    name=${rest%%:*}
    state=${rest#*:}
    fake_clear
    if [ "$status" = 404 ]; then
        fake_rule '{"kind":"status","status":404,"body":"{\"error\":{\"message\":\"model \\\"deepseek-coder-7b-instruct\\\" not found, try pulling it first\"}}"}'
    else
        fake_rule "{\"kind\":\"status\",\"status\":$status}"
    fi
    add_task "{\"goal\": \"Write f$N() returning $N.\", \"tests\": \"assert f$N() == $N\"}"
    id=$(printf 'task_%06d' "$N")
    wait_json "(.llm.last_error // \"\" | test(\"^$name: \")) and .state == \"$state\"" 40 ||
        fail "$status: the reason reaches status.json"
    bad=0
    for ((i = 0; i < 10; i++)); do
        s=$(jq -c '[.state, .llm.last_error]' "$M/status.json")
        [[ "$s" == "[\"$state\",\"$name: "* ]] || { bad=1; echo "sample $i: $s"; }
        sleep 0.5
    done
    assert_eq "$status: every sample while waiting says $name" 0 "$bad"
    assert_match "... and the task waits" "^(queued|running)$" "$(task_field "$id" .status)"
    N=$((N + 1))
done
stop_btfs
stop_fake

finish
