# bash completion for bt(1): commands, their options, task ids from the
# mount's tasks/ and set names from its eval/ directory.
#
# Commands and options are read from bt itself (bt --help, bt help COMMAND),
# so that a command added to bt completes without an edit here.

_bt_mount()
{
    local i
    for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
        case ${COMP_WORDS[i]} in
        --mount) printf '%s\n' "${COMP_WORDS[i + 1]}"; return ;;
        --mount=*) printf '%s\n' "${COMP_WORDS[i]#--mount=}"; return ;;
        esac
    done
    printf '%s\n' "${BT_MOUNT:-./mountpoint}"
}

_bt_commands()
{
    # the "Commands:" section of the usage: "  name ..." and "  a | b ..."
    "$1" --help 2>/dev/null | awk '
        /^Commands:/ { on = 1; next }
        on && /^[^ ]/ { on = 0 }
        on && /^  [a-z]/ {
            print $1
            if ($2 == "|") print $3
        }'
}

_bt_task_ids()
{
    local f
    for f in "$1"/tasks/task_[0-9]*.json; do
        [ -e "$f" ] || continue
        f=${f##*/}
        printf '%s\n' "${f%.json}"
    done
}

_bt_sets()
{
    local f
    for f in "$1"/eval/*.json; do
        [ -e "$f" ] || continue
        f=${f##*/}
        printf '%s\n' "${f%.json}"
    done
}

_bt()
{
    local cur prev bt cmd mount i w
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD - 1]}
    bt=${COMP_WORDS[0]}
    COMPREPLY=()

    # the command: the first word that is neither an option nor its value
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        case $w in
        --mount) ((i++)) ;;
        --difficulty|--priority|--skill|--language|--tests|--hidden-tests|\
        --timeout|--count|--format|--set|--task|--source) ((i++)) ;;
        -*) ;;
        *) cmd=$w; break ;;
        esac
    done
    mount=$(_bt_mount)

    case $prev in
    --mount)
        mapfile -t COMPREPLY < <(compgen -d -- "$cur"); return ;;
    --format)
        mapfile -t COMPREPLY < <(compgen -W "tasks humaneval mbpp" -- "$cur"); return ;;
    --language)
        mapfile -t COMPREPLY < <(compgen -W "python c sh" -- "$cur"); return ;;
    --source)
        mapfile -t COMPREPLY < <(compgen -W "user trainer seed" -- "$cur"); return ;;
    --set)
        mapfile -t COMPREPLY < <(compgen -W "$(_bt_sets "$mount")" -- "$cur"); return ;;
    --task)
        mapfile -t COMPREPLY < <(compgen -W "$(_bt_task_ids "$mount")" -- "$cur"); return ;;
    --difficulty|--priority|--skill|--tests|--hidden-tests|--timeout|--count)
        return ;;
    esac

    if [[ $cur == -* ]]; then
        local opts
        opts=$({ printf '%s\n' --mount --json --help --version
                 [ -z "$cmd" ] || "$bt" help "$cmd" 2>/dev/null |
                     grep -o -- '--[a-z][a-z-]*'; } | sort -u)
        mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
        return
    fi
    if [ -z "$cmd" ]; then
        mapfile -t COMPREPLY < <(compgen -W "$(_bt_commands "$bt")" -- "$cur")
        return
    fi
    case $cmd in
    get-task|cancel)
        mapfile -t COMPREPLY < <(compgen -W "$(_bt_task_ids "$mount")" -- "$cur") ;;
    import)
        mapfile -t COMPREPLY < <(compgen -f -X '!*.jsonl' -- "$cur")
        mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -d -- "$cur") ;;
    help)
        mapfile -t COMPREPLY < <(compgen -W "$(_bt_commands "$bt")" -- "$cur") ;;
    esac
}
complete -F _bt bt
