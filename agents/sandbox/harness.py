# Builder-Trainer test harness for Python (docs/sandbox.md). Each top-level
# assert and each top-level test_* function is one test, run in a forked
# process of its own; verdicts go to a descriptor the tests never see named.
#
# Started as `python3 _bt_harness.py RESFD NONCEFD CODE TESTS`. exec.c writes
# this file into every work directory of a Python test run (it is compiled
# into btfs by scripts/embed.py), and scripts/check_seed.py runs the same
# file on the seed, so both count and judge tests alike.
import ast, os, sys, types

def is_test(node):
    # The one definition of a test (the admission checker imports it): a
    # top-level assert, or a top-level function named test_*.
    return isinstance(node, ast.Assert) or \
        (isinstance(node, ast.FunctionDef) and node.name.startswith("test_"))

def _bt_main():
    resfd, noncefd = int(sys.argv[1]), int(sys.argv[2])
    code_path, tests_path = sys.argv[3], sys.argv[4]
    nonce = os.read(noncefd, 256).decode().strip()
    os.close(noncefd)
    os.set_inheritable(resfd, False)

    def clean(s):
        return " ".join(str(s).split())[:4000]

    def report(*words):
        os.write(resfd, (nonce + " " + " ".join(words) + "\n").encode("utf-8", "replace"))

    try:
        with open(tests_path, encoding="utf-8") as f:
            tsrc = f.read()
        tree = ast.parse(tsrc, "tests.py")
    except SyntaxError as e:
        report("total", "0")
        report("error", clean("tests.py: SyntaxError: %s (line %s)" % (e.msg, e.lineno)))
        return 2
    setup, tests = [], []
    for node in tree.body:
        if isinstance(node, ast.Assert):
            tests.append(("assert", "assert_line_%d" % node.lineno, node))
            setup.append(("test", len(tests) - 1))
        else:
            setup.append(("stmt", node))
            if is_test(node):
                tests.append(("call", node.name, node))
    report("total", str(len(tests)))

    mod = types.ModuleType("solution")
    mod.__file__ = os.path.abspath(code_path)
    sys.modules["solution"] = mod
    sys.modules["main"] = mod
    sys.path.insert(0, os.path.dirname(os.path.abspath(code_path)))
    sys.argv = [code_path]
    load_error = None
    try:
        with open(code_path, encoding="utf-8") as f:
            codeobj = compile(f.read(), code_path, "exec")
    except SyntaxError as e:
        msg = clean("%s: %s (line %s)" % (type(e).__name__, e.msg, e.lineno))
        report("syntax", msg)
        for t in tests:
            report("fail", t[1], "code does not compile: " + msg)
        return 1
    try:
        exec(codeobj, mod.__dict__)
    except BaseException as e:
        load_error = clean("code raised %s: %s" % (type(e).__name__, e))

    ns = {k: v for k, v in mod.__dict__.items() if not k.startswith("__")}
    ns["__name__"] = "tests"
    ns["__builtins__"] = __builtins__

    def describe(e, node):
        if isinstance(e, AssertionError):
            text = str(e)
            if not text and node is not None:
                text = ast.get_source_segment(tsrc, node) or ""
            return clean("AssertionError: " + text)
        if isinstance(e, SystemExit):
            return clean("called sys.exit(%r) before finishing" % (e.code,))
        return clean("%s: %s" % (type(e).__name__, e))

    def run_one(kind, name, node):
        if load_error is not None:
            report("fail", name, load_error)
            return
        r, w = os.pipe()
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:
            pass
        pid = os.fork()
        if pid == 0:
            msg = b"fail internal"
            try:
                os.close(r)
                os.close(resfd)
                try:
                    if kind == "assert":
                        m = ast.Module(body=[node], type_ignores=[])
                        exec(compile(m, "tests.py", "exec"), ns)
                    else:
                        ns[name]()
                    msg = b"ok"
                except BaseException as e:
                    msg = ("fail " + describe(e, node if kind == "assert" else None)).encode("utf-8", "replace")
                try:
                    sys.stdout.flush()
                    sys.stderr.flush()
                except BaseException:
                    pass
                os.write(w, msg)
            finally:
                os._exit(0)
        os.close(w)
        chunks = []
        while True:
            b = os.read(r, 65536)
            if not b:
                break
            chunks.append(b)
        os.close(r)
        _, status = os.waitpid(pid, 0)
        data = b"".join(chunks).decode("utf-8", "replace")
        if os.WIFSIGNALED(status):
            report("fail", name, "crashed: killed by signal %d" % os.WTERMSIG(status))
        elif data == "ok" and os.WEXITSTATUS(status) == 0:
            report("pass", name)
        elif data.startswith("fail "):
            report("fail", name, data[5:])
        else:
            report("fail", name, "ended the process (exit status %d) before finishing" % os.WEXITSTATUS(status))

    for item in setup:
        if item[0] == "test":
            run_one(*tests[item[1]])
            continue
        if load_error is not None:
            continue
        try:
            exec(compile(ast.Module(body=[item[1]], type_ignores=[]), "tests.py", "exec"), ns)
        except BaseException as e:
            load_error = clean("tests.py line %d raised %s" % (item[1].lineno, describe(e, None)))
    for t in tests:
        if t[0] == "call":
            run_one(*t)
    return 0

if __name__ == "__main__":
    sys.exit(_bt_main())
