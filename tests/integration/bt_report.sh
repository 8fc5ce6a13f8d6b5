#!/bin/bash
# bt_report.sh -- a HumanEval-format set imported with bt import and run
# through the loop (fake LLM, real sandbox), then read back with bt report:
# 3 of 4 problems right gives pass@1 75% with the 95% Wilson interval that
# python3 computes apart; an ablation imported twice (--max-attempts 1
# against the default) gives the expected first-attempt and final rates
# side by side; bt get-trend --set counts exactly the set's tasks.
. "${0%/*}/lib.sh" || exit 1

need_fake
need_sandbox

export BT_SEED=0 BT_TRAINER=0 BT_BUILDERS=1

# Each part starts from fresh rules (prompts recall earlier tasks).
reflection_rule() {
    fake_clear
    fake_reflection
}

# he_line ID ENTRY DOC EXAMPLE_CALL EXAMPLE_OUT CHECK: one HumanEval line.
he_line() {
    jq -nc --arg id "$1" --arg e "$2" --arg doc "$3" --arg call "$4" \
        --arg out "$5" --arg check "$6" \
        '{task_id: $id, entry_point: $e,
          prompt: ("def " + $e + "(x):\n    \"\"\" " + $doc + "\n    >>> " + $call + "\n    " + $out + "\n    \"\"\"\n"),
          canonical_solution: "    return SECRET_CANON\n",
          test: ("\n\ndef check(candidate):\n" + $check + "\n")}'
}

{
    he_line RP/0 rp_one "Return x plus one." "rp_one(1)" 2 \
        $'    assert candidate(1) == 2\n    assert candidate(-1) == 0'
    he_line RP/1 rp_two "Return x times two." "rp_two(3)" 6 \
        $'    assert candidate(3) == 6\n    assert candidate(0) == 0'
    he_line RP/2 rp_three "Return x minus three." "rp_three(3)" 0 \
        $'    assert candidate(3) == 0\n    assert candidate(10) == 7'
    he_line RP/3 rp_four "Return x squared." "rp_four(3)" 9 \
        $'    assert candidate(2) == 4\n    assert candidate(5) == 25'
} >"$T/rp.jsonl"

start_fake
start_btfs
export BT_MOUNT="$M"

assert_ok "bt report before any set" "$BT" report
assert_eq "... says there is none yet" \
    "no benchmark sets yet (bt import FILE --format humaneval makes one)" "$OUT"

# ---- 3 of 4 right ------------------------------------------------------------------

reflection_rule
fake_code "rp_one(" 'def rp_one(x):
    return x + 1'
fake_code "rp_two(" 'def rp_two(x):
    return x * 2'
fake_code "rp_three(" 'def rp_three(x):
    return x - 3'
fake_code "rp_four(" 'def rp_four(x):
    return x + x'
assert_ok "bt import of four problems as set rp" \
    "$BT" import "$T/rp.jsonl" --format humaneval --set rp
assert_ok "... all four are judged" wait_set rp 4 180
assert_ok "bt report --set rp" "$BT" report --set rp
row=$(sed -n 2p <<<"$OUT")
echo "$OUT" >"$T/report.txt"
assert_eq "... a header and one row" 2 "$(wc -l <<<"$OUT")"
assert_match "... the header names the columns" \
    '^SET +HELD OUT +PROBLEMS +JUDGED +PENDING +ERRORS +PASS@1 +95% CI +FINAL +95% CI +ATTEMPTS +TOKENS +WALL S$' \
    "$(sed -n 1p <<<"$OUT")"
# The interval, computed apart: Wilson score, z for 95%.
want_ci=$(python3 -c '
import math
k, n, z = 3, 4, 1.959963984540054
p = k / n
c = (p + z * z / (2 * n)) / (1 + z * z / n)
h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
print("%.1f-%.1f%%" % (100 * max(0, c - h), 100 * min(1, c + h)))')
assert_eq "python3's Wilson interval of 3/4 is the known one" "30.1-95.4%" "$want_ci"
read -r -a f <<<"$row"
assert_eq "... rp, held out, 4 problems, 4 judged, none pending, no error" \
    "rp yes 4 4 0 0" "${f[*]:0:6}"
assert_eq "... pass@1 75.0% with the interval python3 computes" \
    "75.0% $want_ci" "${f[*]:6:2}"
assert_eq "... after repair the same: the wrong one never got right" \
    "75.0% $want_ci" "${f[*]:8:2}"
# Attempts: 1, 1, 1 and 3 (the wrong one used every attempt).
assert_eq "... mean attempts (1 + 1 + 1 + 3) / 4" "1.50" "${f[10]}"
assert_match "... mean tokens and wall seconds are numbers" \
    '^[0-9]+ [0-9]+\.[0-9]$' "${f[*]:11:2}"

assert_ok "bt --json report --set rp" "$BT" --json report --set rp
assert_eq "... prints the set's object as eval/rp.json holds it" \
    "$(jq -c 'del(.updated_at)' "$M/eval/rp.json")" \
    "$(jq -c '.[0] | del(.updated_at)' <<<"$OUT" 2>&1)"
assert_eq "... whose interval agrees with python3's to 4 decimals" "ok" \
    "$(jq -c .[0].pass_final_ci95 <<<"$OUT" | python3 -c '
import json, math, sys
lo, hi = json.load(sys.stdin)
k, n, z = 3, 4, 1.959963984540054
p = k / n
c = (p + z * z / (2 * n)) / (1 + z * z / n)
h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
print("ok" if abs(lo - (c - h)) < 6e-5 and abs(hi - (c + h)) < 6e-5 else "%r %r" % (lo, hi))')"
assert_ok "bt get-trend --set rp" "$BT" --json get-trend --set rp
assert_eq "... counts exactly the four tasks" '[4,3,1,0]' \
    "$(jq -c '[.tasks,.passed,.failed,.error]' <<<"$OUT" 2>&1)"

# ---- ablation: the same problems, repair on and off -----------------------------------

reflection_rule
fake_code "Your attempt 1 failed" 'def rp_sq(x):
    return x * x'
fake_code "rp_sq(" 'def rp_sq(x):
    return x + x'
{
    he_line AB/0 rp_sq "Return x squared." "rp_sq(3)" 9 \
        $'    assert candidate(3) == 9\n    assert candidate(5) == 25'
    he_line AB/1 rp_sq "Return the square of x." "rp_sq(4)" 16 \
        $'    assert candidate(4) == 16\n    assert candidate(1) == 1'
} >"$T/ab.jsonl"
assert_ok "import as ab-full (default attempts)" \
    "$BT" import "$T/ab.jsonl" --format humaneval --set ab-full --no-memory
assert_ok "import as ab-single (--max-attempts 1)" \
    "$BT" import "$T/ab.jsonl" --format humaneval --set ab-single --no-memory --max-attempts 1
assert_ok "... both are judged" wait_set ab-full 2 180
assert_ok "..." wait_set ab-single 2 180
assert_ok "bt report --set ab-single --set ab-full" \
    "$BT" report --set ab-single --set ab-full
assert_eq "... one row each, in the order asked" "ab-single ab-full" \
    "$(sed -n '2,$p' <<<"$OUT" | awk '{print $1}' | paste -sd' ')"
assert_ok "bt report --set of a set named twice (names are lower case)" \
    "$BT" report --set ab-single --set ab-full --set AB-Single
assert_eq "... still one row per set" "ab-single ab-full" \
    "$(sed -n '2,$p' <<<"$OUT" | awk '{print $1}' | paste -sd' ')"
assert_eq "single shot: pass@1 0%, final 0%, 1 attempt" "0.0% 0.0% 1.00" \
    "$(sed -n 2p <<<"$OUT" | awk '{print $7, $9, $11}')"
assert_eq "repair: pass@1 0%, final 100%, 2 attempts" "0.0% 100.0% 2.00" \
    "$(sed -n 3p <<<"$OUT" | awk '{print $7, $9, $11}')"

assert_ok "bt report lists every set" "$BT" report
assert_eq "... sorted by name" "ab-full ab-single rp" \
    "$(sed -n '2,$p' <<<"$OUT" | awk '{print $1}' | paste -sd' ')"
assert_fails "bt report --set of a set that does not exist" "$BT" report --set nosuch
assert_match "... says so" "no set 'nosuch'" "$ERR"
assert_exit "bt report --set with a bad name exits 2" 2 "$BT" report --set 'a b'
REQS=$(curl -s "http://127.0.0.1:$FAKE_PORT/fake/requests")
assert_eq "no canonical solution reached the LLM" 0 \
    "$(jq '[.[] | .body | select(contains("SECRET_CANON"))] | length' <<<"$REQS")"
stop_btfs
stop_fake
finish
