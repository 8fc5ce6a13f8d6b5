#!/bin/bash
# eval.sh -- a benchmark run through the loop, end to end on a real mount
# with the fake LLM and the real sandbox: a held-out set whose answers are
# right passes 100% and one whose answers are wrong 0%; no prompt carries
# another evaluation task's text; set names never become skills nor reach
# the Trainer; max_attempts 1 against the default gives the first-attempt
# and final pass rates an ablation expects.
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

# The three problems of the set, as task lines for SET (held out).
problems() {
    local set=$1 extra=${2:-}
    printf '%s\n' \
        "{\"goal\":\"EVAL_ALPHA: Write add_alpha(a, b) returning a + b.\",\"skills\":[\"math\"],\"tests\":\"assert add_alpha(1, 2) == 3\",\"hidden_tests\":\"assert add_alpha(5, 5) == 10\",\"set\":\"$set\",\"problem_id\":\"P/0\",\"held_out\":true$extra}" \
        "{\"goal\":\"EVAL_BETA: Write neg_beta(x) returning minus x.\",\"skills\":[\"math\"],\"tests\":\"assert neg_beta(1) == -1\",\"hidden_tests\":\"assert neg_beta(-3) == 3\",\"set\":\"$set\",\"problem_id\":\"P/1\",\"held_out\":true$extra}" \
        "{\"goal\":\"EVAL_GAMMA: Write twice_gamma(x) returning 2 times x.\",\"skills\":[\"math\"],\"tests\":\"assert twice_gamma(2) == 4\",\"hidden_tests\":\"assert twice_gamma(7) == 14\",\"set\":\"$set\",\"problem_id\":\"P/2\",\"held_out\":true$extra}" \
        >"$M/tasks/new"
}

start_fake
start_btfs

# ---- a training task first: its memory may serve the evaluation -----------------

reflection_rule
fake_code "inc_delta(" 'def inc_delta(x):
    return x + 1'
echo '{"goal":"TRAIN_DELTA: Write inc_delta(x) returning x plus 1.","skills":["math"],"tests":"assert inc_delta(1) == 2"}' >"$M/tasks/new"
assert_ok "a training task passes" wait_status task_000001 passed 60

# ---- right answers: 100% ----------------------------------------------------------

fake_code "add_alpha(" 'def add_alpha(a, b):
    return a + b'
fake_code "neg_beta(" 'def neg_beta(x):
    return -x'
fake_code "twice_gamma(" 'def twice_gamma(x):
    return 2 * x'
problems heval-right
assert_ok "right answers: the held-out set is judged" wait_set heval-right 3 90
assert_eq "... 3 of 3 pass, all at the first attempt" '[3,3,3,1,1]' \
    "$(ev heval-right '[.judged, .passed, .passed_first, .pass_at_1, .pass_final]')"
# Wilson, 3 of 3: [n / (n + z^2), 1] = [0.4385, 1].
assert_eq "... with the 95% Wilson interval of 3/3" '[0.4385,1]' "$(ev heval-right .pass_final_ci95)"
assert_eq "... held out" true "$(ev heval-right .held_out)"

# ---- wrong answers: 0% --------------------------------------------------------------

reflection_rule
fake_code "add_alpha(" 'def add_alpha(a, b):
    return a - b'
fake_code "neg_beta(" 'def neg_beta(x):
    return x'
fake_code "twice_gamma(" 'def twice_gamma(x):
    return x * 3'
problems heval-wrong
assert_ok "wrong answers: the set is judged" wait_set heval-wrong 3 120
assert_eq "... 0 of 3 pass" '[3,0,0,0,0]' \
    "$(ev heval-wrong '[.judged, .passed, .passed_first, .pass_at_1, .pass_final]')"
assert_eq "... after the default 3 attempts each" 3 "$(ev heval-wrong .mean_attempts)"

# ---- a training task after the evaluation: no evaluation text reaches it -------------

reflection_rule
fake_code "dec_eps(" 'def dec_eps(x):
    return x - 1'
echo '{"goal":"TRAIN_EPS: Write dec_eps(x) returning x minus 1, for math.","skills":["math"],"tests":"assert dec_eps(1) == 0"}' >"$M/tasks/new"
assert_ok "a later training task passes" wait_status task_000008 passed 60

REQS=$(curl -s "http://127.0.0.1:$FAKE_PORT/fake/requests")
echo "$REQS" >"$T/requests.json"
assert_eq "no prompt holds the text of two evaluation problems" 0 \
    "$(jq '[.[] | .body | [contains("EVAL_ALPHA"), contains("EVAL_BETA"), contains("EVAL_GAMMA")] | map(select(.)) | length | select(. > 1)] | length' <<<"$REQS")"
assert_eq "no evaluation code reaches another problem's prompt" 0 \
    "$(jq '[.[] | .body | select((contains("EVAL_ALPHA") | not) and (contains("add_alpha") or contains("return a - b")))] | length' <<<"$REQS")"
assert_eq "the later training task's prompts hold no evaluation text" 0 \
    "$(jq '[.[] | .body | select(contains("TRAIN_EPS") and (contains("EVAL_") or contains("add_alpha") or contains("neg_beta") or contains("twice_gamma")))] | length' <<<"$REQS")"
assert_eq "... while training memory may serve later tasks (the ranking is on)" true \
    "$(jq 'any(.[]; .body | contains("TRAIN_EPS") and contains("TRAIN_DELTA"))' <<<"$REQS")"
assert_eq "set names never become skills" "math" \
    "$(jq -r 'keys | join(" ")' "$M/core/skill_map.json")"
assert_eq "... yet the evaluation's results count in the skill map" 8 \
    "$(jq -r .math.attempts "$M/core/skill_map.json")"
assert_eq "the profile counts them too" 8 "$(jq -r .tasks_total "$M/core/builder_profile.json")"
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

# ---- the Trainer: no set name, no evaluation text -----------------------------------------

fake_clear
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
    "$(jq '[.[] | .body | select(contains("You write programming exercises") and (contains("heval") or contains("abl-") or contains("EVAL_") or contains("ABL_")))] | length' <<<"$REQS")"
stop_btfs
stop_fake

finish
