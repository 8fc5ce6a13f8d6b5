#!/bin/bash
# install.sh -- meson install into a DESTDIR puts btfs and bt in bindir, the
# man pages in mandir/man1 and bt's bash completion where bash-completion
# looks; the installed programs run and the completion loads in bash.
. "${0%/*}/check.sh" || exit 1
: "${BUILDDIR:?set BUILDDIR to the build directory}"
command -v meson >/dev/null || skip "meson is not on PATH"

T=$(mktemp -d /tmp/btfs-install.XXXXXX)
trap 'rm -rf "$T"' EXIT
trap 'exit 143' TERM    # meson's timeout: clean up all the same
dest=$T/root

if out=$(meson install -C "$BUILDDIR" --no-rebuild --destdir "$dest" 2>&1); then
    pass "meson install --destdir succeeds"
else
    fail "meson install --destdir succeeds" "${out: -2000}"
    finish
    exit 1
fi

# Where meson put things, relative to the prefix.
read -r prefix bindir mandir datadir < <(meson introspect "$BUILDDIR" --buildoptions |
    python3 -c "import json, sys
o = {o['name']: o['value'] for o in json.load(sys.stdin)}
print(o['prefix'], o['bindir'], o['mandir'], o['datadir'])")
under() { case $1 in /*) echo "$dest$1" ;; *) echo "$dest$prefix/$1" ;; esac; }
bin=$(under "$bindir")

for p in btfs bt; do
    [ -x "$bin/$p" ] && pass "$p is installed in $prefix/$bindir" \
        || fail "$p is installed in $prefix/$bindir" "$(find "$dest" -type f | head -20)"
done
check "the installed btfs runs" "$bin/btfs" --version
check "the installed bt runs" "$bin/bt" --version

if [ -s "$BUILDDIR/man/btfs.1" ]; then
    for p in btfs.1 bt.1; do
        [ -s "$(under "$mandir")/man1/$p" ] && pass "$p is installed in $mandir/man1" \
            || fail "$p is installed in $mandir/man1" "$(find "$dest" -type f | head -20)"
    done
else
    echo "note: the man pages are not built here (no scdoc); not checked"
fi

comp=$(under "$datadir")/bash-completion/completions/bt
[ -s "$comp" ] && pass "bt's completion is in $datadir/bash-completion/completions" \
    || fail "bt's completion is installed" "$(find "$dest" -type f | head -20)"
out=$(PATH="$bin:$PATH" bash -c '
    set -e
    . "$1"
    complete -p bt
    COMP_WORDS=(bt get-); COMP_CWORD=1; _bt
    printf "%s\n" "${COMPREPLY[@]}"' _ "$comp" 2>&1) && rc=0 || rc=$?
if [ "$rc" = 0 ] && grep -q "^complete -F _bt bt" <<<"$out" &&
   grep -qx get-task <<<"$out" && grep -qx get-trend <<<"$out"; then
    pass "the installed completion loads and completes bt's commands"
else
    fail "the installed completion loads and completes 'bt get-' (exit $rc)" "$out"
fi

# The rest of what it completes, against a directory shaped like a mount
# (the completion only lists its files): options of a command from its
# help, task ids from tasks/, set names from eval/, --source's values.
fake=$T/mnt
mkdir -p "$fake/tasks" "$fake/eval"
touch "$fake/tasks/task_000007.json" "$fake/tasks/task_000012.json" \
      "$fake/tasks/reflection_000007.json" "$fake/eval/humaneval.json"
complete_words() {
    PATH="$bin:$PATH" BT_MOUNT=$fake bash -c '
        . "$1"; shift
        COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _bt
        printf "%s\n" "${COMPREPLY[@]}" | sort | xargs' _ "$comp" "$@" 2>&1
}
check_words() {
    local what=$1 want=$2 got
    shift 2
    got=$(complete_words "$@")
    [ "$got" = "$want" ] && pass "completion: $what" \
        || fail "completion: $what" "bt ${*:2}: expected '$want', got '$got'"
}
check_words "bt get-task completes task ids" "task_000007 task_000012" bt get-task ''
check_words "bt cancel too" "task_000012" bt cancel task_0000 task_00001
check_words "bt logs --task too" "task_000007 task_000012" bt logs --task ''
check_words "bt report --set completes set names" "humaneval" bt report --set ''
check_words "bt --mount DIR is where it looks" "" bt --mount "$T/none" get-task ''
check_words "bt watch -- completes watch's options" \
    "--count --help --json --mount --version" bt watch --
check_words "bt cancel --source completes the sources" "seed" bt cancel --source s
finish
