#!/bin/bash
# bt_help.sh -- bt help, bt help COMMAND and bt COMMAND --help: every command
# bt lists has its own help, the two spellings agree, none needs a mount, and
# a wrong name is a usage error that says so.
. "${0%/*}/check.sh" || exit 1
: "${BT:?set BT to the bt binary}"
export BT_MOUNT=/nonexistent/mount    # help must not need one

out=$("$BT" help) && rc=0 || rc=$?
[ "$rc" = 0 ] && [[ $out == usage:* ]] && pass "bt help prints the usage" \
    || fail "bt help prints the usage (exit $rc)" "$out"
[ "$out" = "$("$BT" --help)" ] && pass "bt help is bt --help" || fail "bt help is bt --help"

# The commands of the usage's "Commands:" section, as completion reads them.
mapfile -t cmds < <(awk '/^Commands:/ { on = 1; next } on && /^[^ ]/ { on = 0 }
    on && /^  [a-z]/ { print $1; if ($2 == "|") print $3 }' <<<"$out")
[ "${#cmds[@]}" -ge 10 ] && pass "the usage lists ${#cmds[@]} commands" \
    || fail "the usage lists the commands" "${cmds[*]}"
for c in "${cmds[@]}"; do
    h=$("$BT" help "$c" 2>&1) && rc=0 || rc=$?
    if [ "$rc" = 0 ] && [[ $h == "usage: bt $c"* ]]; then
        pass "bt help $c"
    else
        fail "bt help $c has its own help (exit $rc)" "${h:0:300}"
    fi
    [ "$("$BT" "$c" --help 2>&1)" = "$h" ] && pass "bt $c --help is bt help $c" \
        || fail "bt $c --help is bt help $c"
done

# the options a command's help names are the ones it takes
h=$("$BT" add-task --help)
for o in --difficulty --priority --skill --language --tests --hidden-tests --timeout; do
    grep -q -- "$o" <<<"$h" && pass "add-task help names $o" || fail "add-task help names $o" "$h"
done
grep -q -- "--count N" <<<"$("$BT" list-tasks --help)" && pass "list-tasks help names --count" \
    || fail "list-tasks help names --count"

# Every option a command takes is named in its help (and so offered by
# the completion, which reads it): an option is taken when bt does not
# answer "does not apply". Options are those bt --help or a help names.
mapfile -t opts < <({ "$BT" --help; for c in "${cmds[@]}"; do "$BT" help "$c"; done; } |
    grep -o -- '--[a-z][a-z-]*' | sort -u |
    grep -vxE -- '--(mount|json|help|version)')
for c in "${cmds[@]}"; do
    h=$("$BT" help "$c")
    missing=()
    for o in "${opts[@]}"; do
        [[ $h == *"$o"* ]] && continue
        e=$("$BT" "$c" "$o" 1 2>&1) || true
        [[ $e == *"option $o does not apply to $c"* ]] || missing+=("$o")
    done
    [ "${#missing[@]}" = 0 ] && pass "bt help $c names every option $c takes" \
        || fail "bt help $c names every option $c takes" "missing: ${missing[*]}"
done

out=$("$BT" help no-such-command 2>&1) && rc=0 || rc=$?
[ "$rc" = 2 ] && grep -q "unknown command 'no-such-command'" <<<"$out" \
    && pass "bt help of an unknown command is a usage error naming it" \
    || fail "bt help no-such-command exits 2 and names it (exit $rc)" "$out"
out=$("$BT" help status extra 2>&1) && rc=0 || rc=$?
[ "$rc" = 2 ] && pass "bt help takes one command" || fail "bt help status extra exits 2 (exit $rc)" "$out"
out=$("$BT" get-task 2>&1) && rc=0 || rc=$?
[ "$rc" = 2 ] && grep -q "get-task needs ID" <<<"$out" \
    && pass "a command without its argument still says what it needs" \
    || fail "bt get-task without ID exits 2 (exit $rc)" "$out"
finish
