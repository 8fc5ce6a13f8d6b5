# Builder-Trainer admission syntax check for C and sh (docs/admission.md,
# rule 2). admission.c runs this file in the sandbox as main.sh with the
# proposal's sources beside it (reference, tests and hidden_tests, all .c or
# all .sh); it is compiled into btfs by scripts/embed.py. One line per
# source: "NAME ok" or "NAME fail MESSAGE" (the compiler's first error
# line). The C tests are compiled the way the harness joins them with the
# code (exec_harness.h), so a test that only breaks in that unit shows here.
chk() {
    n=$1; shift
    if "$@" >/dev/null 2>_bt_err; then
        printf '%s ok\n' "$n"
    else
        m=$(grep -m1 -i 'error' _bt_err || head -n1 _bt_err)
        printf '%s fail %s\n' "$n" "$(printf '%s' "$m" | tr '\n\r' '  ')"
    fi
}
if [ -e reference.c ]; then
    for t in tests hidden_tests; do
        printf '#define main bt_solution_main\n#include "reference.c"\n#undef main\n#include "%s.c"\n' \
            "$t" > "_bt_unit_$t.c"
    done
    chk reference gcc -std=gnu11 -fsyntax-only reference.c
    chk tests gcc -std=gnu11 -fsyntax-only _bt_unit_tests.c
    chk hidden_tests gcc -std=gnu11 -fsyntax-only _bt_unit_hidden_tests.c
else
    chk reference bash -n reference.sh
    chk tests bash -n tests.sh
    chk hidden_tests bash -n hidden_tests.sh
fi
exit 0
