# check.sh -- checks that print one line each, for the tests that need no
# mount (bt_help.sh, man_pages.sh, install.sh). Sourced; ends with finish,
# which prints "N passed, M failed" and sets the exit status.
set -euo pipefail
export LC_ALL=C.UTF-8
PASSED=0
FAILED=0

pass() { PASSED=$((PASSED + 1)); echo "ok: $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL: $1"; shift; local l; for l in "$@"; do echo "    $l"; done; }
skip() { echo "SKIP: $*"; exit 77; }

# check DESC COMMAND...: passes when the command succeeds.
check() {
    local desc=$1 out
    shift
    if out=$("$@" 2>&1); then pass "$desc"; else fail "$desc" "${out:0:2000}"; fi
}

finish() {
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}
