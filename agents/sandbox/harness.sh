# Builder-Trainer test harness for bash (docs/sandbox.md). Each function
# test_* defined in the tests file is one test, run in a subshell with
# set -e; it passes when it returns 0 and reaches its end. Started as
# `bash _bt_harness.sh RESFD NONCEFD CODE TESTS`; exec.c writes this file
# into the work directory (compiled into btfs by scripts/embed.py).
__bt_resfd=$1
read -r -u "$2" __bt_nonce
eval "exec $2<&-"
__bt_report() { printf '%s %s\n' "$__bt_nonce" "$*" >&"$__bt_resfd"; }
__bt_tests=()
while IFS= read -r __bt_line || [ -n "$__bt_line" ]; do
    __bt_name=
    if [[ $__bt_line =~ ^[[:space:]]*function[[:space:]]+(test_[A-Za-z0-9_]*) ]]; then
        __bt_name=${BASH_REMATCH[1]}
    elif [[ $__bt_line =~ ^[[:space:]]*(test_[A-Za-z0-9_]*)[[:space:]]*\(\) ]]; then
        __bt_name=${BASH_REMATCH[1]}
    fi
    if [ -n "$__bt_name" ] && [[ " ${__bt_tests[*]} " != *" $__bt_name "* ]]; then
        __bt_tests+=("$__bt_name")
    fi
done < "$4"
__bt_report total "${#__bt_tests[@]}"
if ! __bt_msg=$(bash -n "$3" 2>&1); then
    __bt_msg=$(printf '%s' "$__bt_msg" | tr '\n' ' ')
    __bt_report syntax "$__bt_msg"
    for __bt_t in "${__bt_tests[@]}"; do __bt_report fail "$__bt_t" "code does not parse"; done
    exit 1
fi
exec 8>&1
source "$3" </dev/null
source "$4" </dev/null
for __bt_t in "${__bt_tests[@]}"; do
    if ! declare -F "$__bt_t" >/dev/null; then
        __bt_report fail "$__bt_t" "not defined"
        continue
    fi
    __bt_ok=$( ( eval "exec $__bt_resfd>&-"; set -e; "$__bt_t"; printf ok >&9 ) 9>&1 1>&8 </dev/null )
    __bt_rc=$?
    if [ "$__bt_ok" = ok ] && [ "$__bt_rc" -eq 0 ]; then
        __bt_report pass "$__bt_t"
    elif [ "$__bt_rc" -gt 128 ]; then
        __bt_report fail "$__bt_t" "crashed: killed by signal $((__bt_rc - 128))"
    elif [ "$__bt_rc" -ne 0 ]; then
        __bt_report fail "$__bt_t" "failed with status $__bt_rc"
    else
        __bt_report fail "$__bt_t" "exited before finishing"
    fi
done
exit 0
