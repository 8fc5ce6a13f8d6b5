#!/bin/bash
# man_pages.sh -- btfs(1) and bt(1) render with man -l, and cover every
# setting btfs has (from btfs --env-example), every btfs option, every bt
# command (from bt --help) and the exit status.
. "${0%/*}/check.sh" || exit 1
: "${BTFS:?set BTFS}" "${BT:?set BT}" "${MANDIR:?set MANDIR to the built pages}"
: "${SRCDIR:?set SRCDIR to the source tree}"
command -v man >/dev/null || skip "man is missing (apt-get install man-db)"

render() { MANWIDTH=100 man --warnings=w -l "$1" 2>"$MANDIR/$(basename "$1").warn"; }
for p in btfs.1 bt.1; do
    if [ ! -s "$MANDIR/$p" ]; then fail "$p is built"; continue; fi
    out=$(render "$MANDIR/$p") && rc=0 || rc=$?
    if [ "$rc" = 0 ] && grep -q "^NAME" <<<"$out" && grep -q "^EXIT STATUS" <<<"$out"; then
        pass "man -l $p renders with NAME and EXIT STATUS"
    else
        fail "man -l $p renders (exit $rc)" "$(head -5 <<<"$out")"
    fi
    [ ! -s "$MANDIR/$p.warn" ] && pass "$p renders without groff warnings" \
        || fail "$p renders without groff warnings" "$(head -5 "$MANDIR/$p.warn")"
done
btfs_page=$(render "$MANDIR/btfs.1" | col -b)
bt_page=$(render "$MANDIR/bt.1" | col -b)

mapfile -t vars < <("$BTFS" --env-example | sed -n 's/^\(# \)\{0,1\}\(BT_[A-Z0-9_]*\)=.*/\2/p')
[ "${#vars[@]}" -ge 20 ] || fail "btfs --env-example names the settings" "${vars[*]}"
missing=()
for v in "${vars[@]}"; do grep -qF "$v" <<<"$btfs_page" || missing+=("$v"); done
[ "${#missing[@]}" = 0 ] && pass "btfs(1) names all ${#vars[@]} settings" \
    || fail "btfs(1) names every setting" "missing: ${missing[*]}"

mapfile -t opts < <("$BTFS" --help | grep -o -- '--[a-z][a-z-]*' | sort -u)
missing=()
for o in "${opts[@]}" -f -d -o; do grep -qF -- "$o" <<<"$btfs_page" || missing+=("$o"); done
[ "${#missing[@]}" = 0 ] && pass "btfs(1) names all ${#opts[@]} long options and -f -d -o" \
    || fail "btfs(1) names every option of btfs --help" "missing: ${missing[*]}"

# Every path of the tree as fs/tree.c's table spells it ("/tasks/task_NNNNNN.json"),
# whole in the rendered page: a name cut by hyphenation or left with the
# markup's underscores ("task__NNNNNN_") cannot be found, nor copied.
mapfile -t files < <(sed -n 's|^ *{ "/\([^"]\{1,\}\)",.*|\1|p' "$SRCDIR/fs/tree.c")
[ "${#files[@]}" -ge 25 ] || fail "fs/tree.c's table names the files" "${files[*]}"
missing=()
for f in "${files[@]}"; do grep -qF "$f" <<<"$btfs_page" || missing+=("$f"); done
[ "${#missing[@]}" = 0 ] && pass "btfs(1) names all ${#files[@]} paths of the tree whole" \
    || fail "btfs(1) names every path of fs/tree.c whole" "missing: ${missing[*]}"

mapfile -t cmds < <("$BT" --help | awk '/^Commands:/ { on = 1; next } on && /^[^ ]/ { on = 0 }
    on && /^  [a-z]/ { print $1; if ($2 == "|") print $3 }')
missing=()
for c in "${cmds[@]}"; do grep -qE "^ +([a-z-]+, )*$c( |,|$)" <<<"$bt_page" || missing+=("$c"); done
[ "${#missing[@]}" = 0 ] && pass "bt(1) describes all ${#cmds[@]} commands" \
    || fail "bt(1) describes every command of bt --help" "missing: ${missing[*]}"
mapfile -t opts < <({ "$BT" --help; for c in "${cmds[@]}"; do "$BT" help "$c"; done; } |
    grep -o -- '--[a-z][a-z-]*' | sort -u)
missing=()
for o in "${opts[@]}"; do grep -qF -- "$o" <<<"$bt_page" || missing+=("$o"); done
[ "${#missing[@]}" = 0 ] && pass "bt(1) names all ${#opts[@]} options of bt --help and bt help COMMAND" \
    || fail "bt(1) names every option of bt --help and bt help COMMAND" "missing: ${missing[*]}"
finish
