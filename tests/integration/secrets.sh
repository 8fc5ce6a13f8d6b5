#!/bin/bash
# secrets.sh -- credentials stay secret and the store stays private:
# a password in the LLM URL appears in no file of the tree, no log, not the
# store's files nor btfs's output; the API key can come from a file; a key
# on the command line is warned about; a fresh store's files are 0600 and a
# data directory others can read is reported with the fix.
. "${0%/*}/lib.sh" || exit 1

need_fake

PW=S3cretPw77
KEY=sk-KeyFromFile91

wait_for() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        [ "$(jq -r "$1" "$M/status.json" 2>/dev/null)" = true ] && return 0
        sleep 0.1
    done
    return 1
}

# stop: the kernel sends a file's RELEASE after close(2) has returned, and
# a btfs stopped before it comes frees nothing for that handle (LeakSanitizer
# reports it in the sanitizer builds); give the last reads time to end.
stop() {
    sleep 1
    stop_btfs
}

# leaks WHAT: fails unless neither the password nor the user name shows in
# any file of the tree, the data directory's files or btfs's output.
no_leak() {
    local hits
    hits=$(grep -rla -e "$PW" -e "admin7" "$M" "$D" "$LOG" 2>&1 || true)
    if [ -z "$hits" ]; then
        pass "$1"
    else
        fail "$1" "found in: $hits" \
            "$(grep -rha -o -e ".\{0,60\}$PW.\{0,20\}" -e ".\{0,60\}admin7.\{0,20\}" "$M" "$D" "$LOG" | head -n 5)"
    fi
}

# ---- a fresh store is private -----------------------------------------------

umask 022
mkdir -m 700 "$D"
start_fake
PORT=$FAKE_PORT
stop_fake             # only to find a port where nothing answers
BT_LLM_URL="http://admin7:$PW@127.0.0.1:$PORT/v1" BT_BUILDERS=1 start_btfs
assert_eq "data.mdb, lock.mdb and btfs.lock are created 0600 (umask 022)" \
    "600 600 600" "$(stat -c %a "$D/data.mdb" "$D/lock.mdb" "$D/btfs.lock" | paste -sd' ')"
assert_no_match "a private data directory gets no warning" "WARNING: data directory" "$(cat "$LOG")"

# ---- the URL's password, with no server --------------------------------------

assert_ok "no server: status.json says why" wait_for '.llm.last_error != null' 10
assert_eq "status.json shows the URL without its userinfo" \
    "\"http://***@127.0.0.1:$PORT/v1\"" "$(jq -c .llm.url "$M/status.json")"
assert_match "... and curl's error with the URL masked" \
    "^refused: http://\*\*\*@127.0.0.1:$PORT/v1/models: " "$(jq -r .llm.last_error "$M/status.json")"
assert_eq "config.json shows the URL masked" \
    "http://***@127.0.0.1:$PORT/v1" "$(jq -r .llm_url "$M/config.json")"
echo "a task while the LLM is down" >"$M/tasks/new"
sleep 1
no_leak "the password is in no file of the tree, the store or btfs's output"
# Control: the same grep finds the password where it really is.
assert_eq "control: the check finds the password in btfs's environment" 1 \
    "$(grep -ca "$PW" "/proc/$BTFS_PID/environ")"
stop

# ---- the same password with a server that answers ----------------------------

start_fake "$PORT"
BT_LLM_URL="http://admin7:$PW@127.0.0.1:$PORT/v1" start_btfs
assert_ok "with the server up, the LLM is reachable through the URL" \
    wait_for '.llm.reachable == true' 10
assert_match "system.log names the URL, masked" "llm: http://\*\*\*@127.0.0.1:$PORT/v1 answers" \
    "$(cat "$M/logs/system.log")"
assert_eq "curl sent the userinfo to the server (basic auth)" \
    "\"Basic $(printf 'admin7:%s' "$PW" | base64)\"" \
    "$(curl -s "http://127.0.0.1:$PORT/fake/requests" | jq -c '.[-1].authorization')"
stop
no_leak "... and still in no file, after a second run"

# ---- the Trainer's own endpoint, with no server there -------------------------

stop_fake
BT_TRAINER=1 BT_TRAINER_LLM_URL="http://admin7:$PW@127.0.0.1:$PORT/v1" start_btfs --llm-url "$FAKE_URL"
assert_ok "the Trainer's endpoint: status.json says why it is down" \
    wait_for '.trainer_llm.last_error != null' 10
assert_eq "... with its URL masked" "\"http://***@127.0.0.1:$PORT/v1\"" \
    "$(jq -c .trainer_llm.url "$M/status.json")"
assert_match "... and curl's error masked" "^refused: http://\*\*\*@127.0.0.1:$PORT/v1/models: " \
    "$(jq -r .trainer_llm.last_error "$M/status.json")"
assert_eq "config.json shows the Trainer's URL masked" \
    "http://***@127.0.0.1:$PORT/v1" "$(jq -r .trainer_llm_url "$M/config.json")"
sleep 1
no_leak "the Trainer's password is in no file of the tree, the store or btfs's output"
stop
start_fake "$PORT"

# ---- secret query values -------------------------------------------------------

BT_LLM_URL="http://127.0.0.1:$PORT/v1?api_key=$PW&model=x" start_btfs
assert_eq "a key= query value is masked in config.json" \
    "http://127.0.0.1:$PORT/v1?api_key=***&model=x" "$(jq -r .llm_url "$M/config.json")"
assert_match "... and in status.json" 'api_key=\*\*\*&model=x' "$(jq -r .llm.url "$M/status.json")"
sleep 1
no_leak "... and in no file"
stop

# ---- the API key from a file --------------------------------------------------

printf '%s\n' "$KEY" >"$T/key"
chmod 600 "$T/key"
: >"$LOG"
start_btfs --llm-url "$FAKE_URL" --llm-api-key-file "$T/key"
assert_ok "a key from --llm-api-key-file: the LLM answers" wait_for '.llm.reachable == true' 10
assert_eq "... the server got it as the Bearer token" "\"Bearer $KEY\"" \
    "$(curl -s "http://127.0.0.1:$PORT/fake/requests" | jq -c '.[-1].authorization')"
assert_eq "config.json shows the file, not the key" \
    "$T/key (redacted)" "$(jq -r '.llm_api_key_file + " " + .llm_api_key' "$M/config.json")"
assert_no_match "no warning for a key from a file" "warning" "$(cat "$LOG")"
assert_eq "the key is in no file of the tree" "" "$(grep -rl "$KEY" "$M" || true)"
stop

BT_LLM_API_KEY_FILE="$T/key" start_btfs --llm-url "$FAKE_URL"
assert_eq "BT_LLM_API_KEY_FILE works the same" "$T/key" "$(jq -r .llm_api_key_file "$M/config.json")"
stop

: >"$LOG"
start_btfs --llm-url "$FAKE_URL" --llm-api-key "$KEY"
assert_match "a key given as an option is warned about, with the fix" \
    "warning: --llm-api-key shows the key to every local user.*--llm-api-key-file" "$(cat "$LOG")"
stop
: >"$LOG"
start_btfs --llm-url "$FAKE_URL" --trainer-llm-api-key "$KEY"
assert_match "so is the Trainer's key given as an option, with the fix" \
    "warning: --trainer-llm-api-key shows the key to every local user.*BT_TRAINER_LLM_API_KEY in the environment" "$(cat "$LOG")"
stop
: >"$LOG"
BT_TRAINER_LLM_API_KEY=$KEY start_btfs --llm-url "$FAKE_URL"
assert_no_match "... but not when it comes from the environment" "warning" "$(cat "$LOG")"
stop

chmod 644 "$T/key"
assert_exit "an empty key file is refused" 2 "$BTFS" -f --data "$D" --llm-api-key-file /dev/null "$M"
assert_match "... saying so" "key file /dev/null is empty" "$ERR"
assert_exit "key and key file together are refused" 2 env BT_LLM_API_KEY=x \
    "$BTFS" -f --data "$D" --llm-api-key-file "$T/key" "$M"
assert_match "... naming both" "BT_LLM_API_KEY in the environment and option --llm-api-key-file both give the API key" "$ERR"
: >"$LOG"
start_btfs --llm-url "$FAKE_URL" --llm-api-key-file "$T/key"
assert_match "a key file others can read is warned about" "key file $T/key can be read by other users; make it private: chmod 600" "$(cat "$LOG")"
stop

# ---- a URL btfs cannot use: the message names it without its password -------

for opt in llm-url trainer-llm-url; do
    for url in "ftp://admin7:$PW@127.0.0.1/v1" "admin7:$PW@127.0.0.1/v1"; do
        assert_exit "--$opt ${url%%:*}:...: a URL the client cannot take stops btfs" 2 \
            "$BTFS" -f --data "$D" --trainer 1 --$opt "$url" "$M"
        assert_match "... naming the setting and the URL masked" \
            "option --$opt: \"[a-z:/]*\*\*\*@127.0.0.1/v1\" is not an http:// or https:// URL" "$ERR"
        assert_no_match "... and not the password" "$PW" "$ERR"
    done
done

# ---- a store others can read --------------------------------------------------

chmod 755 "$D"
chmod 644 "$D/data.mdb" "$D/lock.mdb"
: >"$LOG"
start_btfs
assert_match "a data directory others can read is reported with the fix" \
    "WARNING: data directory $D can be read by other users \(mode 755\); make it private: chmod 700 $D" "$(cat "$LOG")"
assert_match "... in system.log" "WARNING: data directory $D can be read" "$(cat "$M/logs/system.log")"
assert_match "... and in status.json" "chmod 700" "$(jq -r .last_error "$M/status.json")"
assert_eq "store files left readable are made private" "600 600" \
    "$(stat -c %a "$D/data.mdb" "$D/lock.mdb" | paste -sd' ')"
assert_match "... and the log says so" "data.mdb could be read by other users \(mode 644\); made it private" "$(cat "$LOG")"
stop

finish
