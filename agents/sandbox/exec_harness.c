/* exec_harness.c -- the test harness texts exec.c writes into work directories.
 *
 * Kept apart from exec.c so the sandbox logic reads on its own. The
 * protocol is documented in docs/sandbox.md and in exec_harness.h. Texts are
 * arrays of lines (ISO C caps the length of one string literal).
 */
#include "exec_harness.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Python: the tests are parsed with ast; each test runs in a forked child
 * whose verdict reaches the harness through a private pipe, so sys.exit(0),
 * os._exit(0) or a crash inside a test is a failure, and printing "passed"
 * counts for nothing. The code is imported as module 'solution' (also
 * 'main'), so its `if __name__ == "__main__":` block does not run. */
const char *const exec_harness_python[] = {
    "# Builder-Trainer test harness for Python (docs/sandbox.md). Each top-level",
    "# assert and each top-level test_* function is one test, run in a forked",
    "# process of its own; verdicts go to a descriptor the tests never see named.",
    "import ast, os, sys, types",
    "",
    "def _bt_main():",
    "    resfd, noncefd = int(sys.argv[1]), int(sys.argv[2])",
    "    code_path, tests_path = sys.argv[3], sys.argv[4]",
    "    nonce = os.read(noncefd, 256).decode().strip()",
    "    os.close(noncefd)",
    "    os.set_inheritable(resfd, False)",
    "",
    "    def clean(s):",
    "        return \" \".join(str(s).split())[:4000]",
    "",
    "    def report(*words):",
    "        os.write(resfd, (nonce + \" \" + \" \".join(words) + \"\\n\").encode(\"utf-8\", \"replace\"))",
    "",
    "    try:",
    "        with open(tests_path, encoding=\"utf-8\") as f:",
    "            tsrc = f.read()",
    "        tree = ast.parse(tsrc, \"tests.py\")",
    "    except SyntaxError as e:",
    "        report(\"total\", \"0\")",
    "        report(\"error\", clean(\"tests.py: SyntaxError: %s (line %s)\" % (e.msg, e.lineno)))",
    "        return 2",
    "    setup, tests = [], []",
    "    for node in tree.body:",
    "        if isinstance(node, ast.Assert):",
    "            tests.append((\"assert\", \"assert_line_%d\" % node.lineno, node))",
    "            setup.append((\"test\", len(tests) - 1))",
    "        else:",
    "            setup.append((\"stmt\", node))",
    "            if isinstance(node, ast.FunctionDef) and node.name.startswith(\"test_\"):",
    "                tests.append((\"call\", node.name, node))",
    "    report(\"total\", str(len(tests)))",
    "",
    "    mod = types.ModuleType(\"solution\")",
    "    mod.__file__ = os.path.abspath(code_path)",
    "    sys.modules[\"solution\"] = mod",
    "    sys.modules[\"main\"] = mod",
    "    sys.path.insert(0, os.path.dirname(os.path.abspath(code_path)))",
    "    sys.argv = [code_path]",
    "    load_error = None",
    "    try:",
    "        with open(code_path, encoding=\"utf-8\") as f:",
    "            codeobj = compile(f.read(), code_path, \"exec\")",
    "    except SyntaxError as e:",
    "        msg = clean(\"%s: %s (line %s)\" % (type(e).__name__, e.msg, e.lineno))",
    "        report(\"syntax\", msg)",
    "        for t in tests:",
    "            report(\"fail\", t[1], \"code does not compile: \" + msg)",
    "        return 1",
    "    try:",
    "        exec(codeobj, mod.__dict__)",
    "    except BaseException as e:",
    "        load_error = clean(\"code raised %s: %s\" % (type(e).__name__, e))",
    "",
    "    ns = {k: v for k, v in mod.__dict__.items() if not k.startswith(\"__\")}",
    "    ns[\"__name__\"] = \"tests\"",
    "    ns[\"__builtins__\"] = __builtins__",
    "",
    "    def describe(e, node):",
    "        if isinstance(e, AssertionError):",
    "            text = str(e)",
    "            if not text and node is not None:",
    "                text = ast.get_source_segment(tsrc, node) or \"\"",
    "            return clean(\"AssertionError: \" + text)",
    "        if isinstance(e, SystemExit):",
    "            return clean(\"called sys.exit(%r) before finishing\" % (e.code,))",
    "        return clean(\"%s: %s\" % (type(e).__name__, e))",
    "",
    "    def run_one(kind, name, node):",
    "        if load_error is not None:",
    "            report(\"fail\", name, load_error)",
    "            return",
    "        r, w = os.pipe()",
    "        try:",
    "            sys.stdout.flush()",
    "            sys.stderr.flush()",
    "        except BaseException:",
    "            pass",
    "        pid = os.fork()",
    "        if pid == 0:",
    "            msg = b\"fail internal\"",
    "            try:",
    "                os.close(r)",
    "                os.close(resfd)",
    "                try:",
    "                    if kind == \"assert\":",
    "                        m = ast.Module(body=[node], type_ignores=[])",
    "                        exec(compile(m, \"tests.py\", \"exec\"), ns)",
    "                    else:",
    "                        ns[name]()",
    "                    msg = b\"ok\"",
    "                except BaseException as e:",
    "                    msg = (\"fail \" + describe(e, node if kind == \"assert\" else None)).encode(\"utf-8\", \"replace\")",
    "                try:",
    "                    sys.stdout.flush()",
    "                    sys.stderr.flush()",
    "                except BaseException:",
    "                    pass",
    "                os.write(w, msg)",
    "            finally:",
    "                os._exit(0)",
    "        os.close(w)",
    "        chunks = []",
    "        while True:",
    "            b = os.read(r, 65536)",
    "            if not b:",
    "                break",
    "            chunks.append(b)",
    "        os.close(r)",
    "        _, status = os.waitpid(pid, 0)",
    "        data = b\"\".join(chunks).decode(\"utf-8\", \"replace\")",
    "        if os.WIFSIGNALED(status):",
    "            report(\"fail\", name, \"crashed: killed by signal %d\" % os.WTERMSIG(status))",
    "        elif data == \"ok\" and os.WEXITSTATUS(status) == 0:",
    "            report(\"pass\", name)",
    "        elif data.startswith(\"fail \"):",
    "            report(\"fail\", name, data[5:])",
    "        else:",
    "            report(\"fail\", name, \"ended the process (exit status %d) before finishing\" % os.WEXITSTATUS(status))",
    "",
    "    for item in setup:",
    "        if item[0] == \"test\":",
    "            run_one(*tests[item[1]])",
    "            continue",
    "        if load_error is not None:",
    "            continue",
    "        try:",
    "            exec(compile(ast.Module(body=[item[1]], type_ignores=[]), \"tests.py\", \"exec\"), ns)",
    "        except BaseException as e:",
    "            load_error = clean(\"tests.py line %d raised %s\" % (item[1].lineno, describe(e, None)))",
    "    for t in tests:",
    "        if t[0] == \"call\":",
    "            run_one(*t)",
    "    return 0",
    "",
    "sys.exit(_bt_main())",
    NULL
};

/* bash: each test_* function runs in a subshell with set -e; it passes only
 * when the subshell reaches the end of the function and prints the marker
 * on a descriptor the test's stdout is not, so 'exit 0' is a failure. */
const char *const exec_harness_sh[] = {
    "# Builder-Trainer test harness for bash (docs/sandbox.md). Each function",
    "# test_* defined in the tests file is one test, run in a subshell with",
    "# set -e; it passes when it returns 0 and reaches its end.",
    "__bt_resfd=$1",
    "read -r -u \"$2\" __bt_nonce",
    "eval \"exec $2<&-\"",
    "__bt_report() { printf '%s %s\\n' \"$__bt_nonce\" \"$*\" >&\"$__bt_resfd\"; }",
    "__bt_tests=()",
    "while IFS= read -r __bt_line || [ -n \"$__bt_line\" ]; do",
    "    __bt_name=",
    "    if [[ $__bt_line =~ ^[[:space:]]*function[[:space:]]+(test_[A-Za-z0-9_]*) ]]; then",
    "        __bt_name=${BASH_REMATCH[1]}",
    "    elif [[ $__bt_line =~ ^[[:space:]]*(test_[A-Za-z0-9_]*)[[:space:]]*\\(\\) ]]; then",
    "        __bt_name=${BASH_REMATCH[1]}",
    "    fi",
    "    if [ -n \"$__bt_name\" ] && [[ \" ${__bt_tests[*]} \" != *\" $__bt_name \"* ]]; then",
    "        __bt_tests+=(\"$__bt_name\")",
    "    fi",
    "done < \"$4\"",
    "__bt_report total \"${#__bt_tests[@]}\"",
    "if ! __bt_msg=$(bash -n \"$3\" 2>&1); then",
    "    __bt_msg=$(printf '%s' \"$__bt_msg\" | tr '\\n' ' ')",
    "    __bt_report syntax \"$__bt_msg\"",
    "    for __bt_t in \"${__bt_tests[@]}\"; do __bt_report fail \"$__bt_t\" \"code does not parse\"; done",
    "    exit 1",
    "fi",
    "exec 8>&1",
    "source \"$3\" </dev/null",
    "source \"$4\" </dev/null",
    "for __bt_t in \"${__bt_tests[@]}\"; do",
    "    if ! declare -F \"$__bt_t\" >/dev/null; then",
    "        __bt_report fail \"$__bt_t\" \"not defined\"",
    "        continue",
    "    fi",
    "    __bt_ok=$( ( eval \"exec $__bt_resfd>&-\"; set -e; \"$__bt_t\"; printf ok >&9 ) 9>&1 1>&8 </dev/null )",
    "    __bt_rc=$?",
    "    if [ \"$__bt_ok\" = ok ] && [ \"$__bt_rc\" -eq 0 ]; then",
    "        __bt_report pass \"$__bt_t\"",
    "    elif [ \"$__bt_rc\" -gt 128 ]; then",
    "        __bt_report fail \"$__bt_t\" \"crashed: killed by signal $((__bt_rc - 128))\"",
    "    elif [ \"$__bt_rc\" -ne 0 ]; then",
    "        __bt_report fail \"$__bt_t\" \"failed with status $__bt_rc\"",
    "    else",
    "        __bt_report fail \"$__bt_t\" \"exited before finishing\"",
    "    fi",
    "done",
    "exit 0",
    NULL
};

/* C: the code and the tests share one translation unit, so tests may call
 * the code's static functions; the code's main is renamed out of the way. */
const char *const exec_harness_c_unit[] = {
    "#define main bt_solution_main",
    "#include \"main.c\"",
    "#undef main",
    "#include \"tests.c\"",
    NULL
};

/* The runner's fixed part: each test runs in a forked child with its stderr
 * captured; a test passes only when the child returns from the function and
 * writes the marker on a pipe of its own, so exit(0), abort() (a failed
 * assert) or a crash is a failure, whatever the test printed. */
static const char *const runner_head[] = {
    "#include <signal.h>",
    "#include <stdio.h>",
    "#include <stdlib.h>",
    "#include <string.h>",
    "#include <sys/wait.h>",
    "#include <unistd.h>",
    "struct bt__test { const char *name; void (*fn)(void); };",
    NULL
};

static const char *const runner_tail[] = {
    "static char bt__nonce[128];",
    "static int bt__resfd;",
    "static void bt__report(const char *kind, const char *name, const char *msg)",
    "{",
    "    char line[4096];",
    "    int n = snprintf(line, sizeof line, \"%s %s%s%s%s%s\", bt__nonce, kind,",
    "                     name ? \" \" : \"\", name ? name : \"\", msg ? \" \" : \"\", msg ? msg : \"\");",
    "    if (n < 0) return;",
    "    if ((size_t)n >= sizeof line - 1) n = (int)sizeof line - 2;",
    "    for (int i = 0; i < n; i++) if (line[i] == '\\n' || line[i] == '\\r') line[i] = ' ';",
    "    line[n++] = '\\n';",
    "    if (write(bt__resfd, line, (size_t)n) < 0) _exit(3);",
    "}",
    "static size_t bt__drain(int fd, char *buf, size_t cap)",
    "{",
    "    size_t len = 0; char tmp[4096]; ssize_t n;",
    "    while ((n = read(fd, tmp, sizeof tmp)) > 0) {",
    "        if (write(2, tmp, (size_t)n) < 0) { /* stderr gone: keep testing */ }",
    "        for (ssize_t i = 0; i < n; i++) {",
    "            if (len + 1 < cap) buf[len++] = tmp[i];",
    "            else { memmove(buf, buf + cap / 2, len - cap / 2); len -= cap / 2; buf[len++] = tmp[i]; }",
    "        }",
    "    }",
    "    buf[len] = 0;",
    "    return len;",
    "}",
    "static const char *bt__last_line(char *buf, size_t len)",
    "{",
    "    while (len > 0 && (buf[len - 1] == '\\n' || buf[len - 1] == ' ')) buf[--len] = 0;",
    "    char *nl = strrchr(buf, '\\n');",
    "    return nl ? nl + 1 : buf;",
    "}",
    "int main(int argc, char **argv)",
    "{",
    "    if (argc < 3) return 2;",
    "    bt__resfd = atoi(argv[1]);",
    "    int noncefd = atoi(argv[2]);",
    "    ssize_t n = read(noncefd, bt__nonce, sizeof bt__nonce - 1);",
    "    if (n <= 0) return 2;",
    "    bt__nonce[n] = 0;",
    "    bt__nonce[strcspn(bt__nonce, \"\\r\\n\")] = 0;",
    "    close(noncefd);",
    "    size_t count = sizeof bt__tests / sizeof bt__tests[0] - 1;",
    "    char total[32];",
    "    snprintf(total, sizeof total, \"%zu\", count);",
    "    bt__report(\"total\", total, NULL);",
    "    for (size_t i = 0; i < count; i++) {",
    "        int errp[2], okp[2];",
    "        if (pipe(errp) < 0 || pipe(okp) < 0) { bt__report(\"fail\", bt__tests[i].name, \"pipe failed\"); continue; }",
    "        fflush(NULL);",
    "        pid_t pid = fork();",
    "        if (pid < 0) { bt__report(\"fail\", bt__tests[i].name, \"fork failed\"); close(errp[0]); close(errp[1]); close(okp[0]); close(okp[1]); continue; }",
    "        if (pid == 0) {",
    "            close(errp[0]); close(okp[0]); close(bt__resfd);",
    "            dup2(errp[1], 2); close(errp[1]);",
    "            bt__tests[i].fn();",
    "            fflush(NULL);",
    "            if (write(okp[1], \"ok\", 2) < 0) _exit(3);",
    "            _exit(0);",
    "        }",
    "        close(errp[1]); close(okp[1]);",
    "        char msg[2048];",
    "        size_t len = bt__drain(errp[0], msg, sizeof msg);",
    "        close(errp[0]);",
    "        char ok[4] = {0};",
    "        ssize_t got = read(okp[0], ok, 2);",
    "        close(okp[0]);",
    "        int status = 0;",
    "        while (waitpid(pid, &status, 0) < 0) {}",
    "        const char *last = bt__last_line(msg, len);",
    "        char why[2300];",
    "        if (WIFSIGNALED(status)) {",
    "            int sig = WTERMSIG(status);",
    "            snprintf(why, sizeof why, \"%s: %s\", sig == SIGABRT ? \"aborted (failed assert)\" : \"crashed: killed by signal\", *last ? last : strsignal(sig));",
    "            bt__report(\"fail\", bt__tests[i].name, why);",
    "        } else if (got == 2 && memcmp(ok, \"ok\", 2) == 0 && WEXITSTATUS(status) == 0) {",
    "            bt__report(\"pass\", bt__tests[i].name, NULL);",
    "        } else {",
    "            snprintf(why, sizeof why, \"ended the process (exit status %d) before finishing%s%s\", WEXITSTATUS(status), *last ? \": \" : \"\", last);",
    "            bt__report(\"fail\", bt__tests[i].name, why);",
    "        }",
    "    }",
    "    return 0;",
    "}",
    NULL
};

/* Appends text (len bytes) to a growing buffer. Returns 0 or -1 (no
 * memory; the buffer is freed). */
static int buf_add(char **buf, size_t *len, size_t *cap, const char *text,
                   size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t ncap = *cap ? *cap : 1024;
        while (ncap < *len + n + 1)
            ncap *= 2;
        char *p = realloc(*buf, ncap);
        if (!p) {
            free(*buf);
            *buf = NULL;
            return -1;
        }
        *buf = p;
        *cap = ncap;
    }
    memcpy(*buf + *len, text, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

static int buf_lines(char **buf, size_t *len, size_t *cap,
                     const char *const *lines)
{
    for (; *lines; lines++)
        if (buf_add(buf, len, cap, *lines, strlen(*lines)) < 0 ||
            buf_add(buf, len, cap, "\n", 1) < 0)
            return -1;
    return 0;
}

static int is_ident(int c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* Matches "void test_NAME ( [void] ) {" at p (p at the 'v' of a word
 * start). Returns the name's length and sets *name, or 0. */
static size_t match_test_def(const char *p, const char **name)
{
    if (strncmp(p, "void", 4) != 0 || !isspace((unsigned char)p[4]))
        return 0;
    p += 4;
    while (isspace((unsigned char)*p))
        p++;
    if (strncmp(p, "test_", 5) != 0)
        return 0;
    const char *start = p;
    while (is_ident(*p))
        p++;
    size_t n = (size_t)(p - start);
    while (isspace((unsigned char)*p))
        p++;
    if (*p++ != '(')
        return 0;
    while (isspace((unsigned char)*p))
        p++;
    if (strncmp(p, "void", 4) == 0 && !is_ident(p[4]))
        p += 4;
    while (isspace((unsigned char)*p))
        p++;
    if (*p++ != ')')
        return 0;
    while (isspace((unsigned char)*p))
        p++;
    if (*p != '{')
        return 0;
    *name = start;
    return n;
}

char *exec_harness_c_runner(const char *tests, size_t *ntests)
{
    char *buf = NULL, *table = NULL;
    size_t len = 0, cap = 0, tlen = 0, tcap = 0, count = 0;

    if (buf_lines(&buf, &len, &cap, runner_head) < 0 ||
        buf_add(&table, &tlen, &tcap, "", 0) < 0)
        goto oom;
    for (const char *p = tests; *p; p++) {
        if (p != tests && is_ident(p[-1]))
            continue;
        const char *name;
        size_t n = match_test_def(p, &name);
        if (!n)
            continue;
        /* a test defined twice would not link; count it once anyway */
        int dup = 0;
        char probe[300];
        if (n < 256) {
            snprintf(probe, sizeof probe, "{\"%.*s\",", (int)n, name);
            dup = strstr(table, probe) != NULL;
        }
        if (dup)
            continue;
        char decl[600];
        if (n >= 256)
            continue;   /* no sane test has a 256-character name */
        int k = snprintf(decl, sizeof decl, "void %.*s(void);\n", (int)n, name);
        if (buf_add(&buf, &len, &cap, decl, (size_t)k) < 0)
            goto oom;
        k = snprintf(decl, sizeof decl, "    {\"%.*s\", %.*s},\n", (int)n, name,
                     (int)n, name);
        if (buf_add(&table, &tlen, &tcap, decl, (size_t)k) < 0)
            goto oom;
        count++;
    }
    static const char open_table[] = "static const struct bt__test bt__tests[] = {\n";
    static const char close_table[] = "    {NULL, NULL}\n};\n";
    if (buf_add(&buf, &len, &cap, open_table, sizeof open_table - 1) < 0 ||
        buf_add(&buf, &len, &cap, table, tlen) < 0 ||
        buf_add(&buf, &len, &cap, close_table, sizeof close_table - 1) < 0 ||
        buf_lines(&buf, &len, &cap, runner_tail) < 0)
        goto oom;
    free(table);
    *ntests = count;
    return buf;
oom:
    free(buf);
    free(table);
    return NULL;
}
