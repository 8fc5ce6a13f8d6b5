#!/bin/bash
# sandbox.sh -- what btfs says about the sandbox: bubblewrap working,
# BT_SANDBOX=none said loudly, and no bubblewrap meaning no builders, with a
# message that says what to install.
. "${0%/*}/lib.sh" || exit 1

command -v bwrap >/dev/null || skip "bwrap is missing"
bwrap --unshare-all --ro-bind / / true 2>/dev/null || skip "bwrap cannot create namespaces here"

start_btfs
assert_eq "status.json names the sandbox" '"bubblewrap"' "$(jq .sandbox "$M/status.json")"
stop_btfs

BT_SANDBOX=none start_btfs
assert_eq "BT_SANDBOX=none shows as unsafe in status.json" '"none (UNSAFE)"' \
    "$(jq .sandbox "$M/status.json")"
assert_match "... and in last_error" "BT_SANDBOX=none: generated code runs unisolated" \
    "$(jq -r .last_error "$M/status.json")"
assert_match "... and in system.log" "WARNING: BT_SANDBOX=none" "$(cat "$M/logs/system.log")"
assert_match "... and on stderr" "WARNING: BT_SANDBOX=none" "$(cat "$LOG")"
stop_btfs

# No bwrap: the mount still works, builders do not start, and every
# place that shows it says what to install.
BT_BUILDERS=1 BT_SANDBOX_BWRAP=/nonexistent/bwrap start_btfs
assert_eq "without bwrap, status.json says unavailable" '"unavailable"' \
    "$(jq .sandbox "$M/status.json")"
assert_match "... and the agents note says what to install" \
    "builders will not start: bwrap not found.*apt-get install bubblewrap" \
    "$(jq -r .agents "$M/status.json")"
assert_match "... as does system.log" "apt-get install bubblewrap" "$(cat "$M/logs/system.log")"
assert_ok "... while the mount keeps working" sh_c "echo 'still works' > '$M/tasks/new'"
stop_btfs

finish
