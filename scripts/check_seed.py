#!/usr/bin/env python3
"""check_seed.py -- checks the seed curriculum (docs/curriculum.md).

    python3 scripts/check_seed.py [agents/trainer/seed/curriculum.jsonl] [-j N] [-q]
    python3 scripts/check_seed.py --controls [agents/trainer/seed/curriculum.jsonl]

For every line: the fields must be exactly those of docs/tasks.md plus
"reference" and "id_hint", with the types and ranges tasks/new accepts; then
the reference must pass every visible and hidden test, and two stubs of it
(every function body replaced by `raise NotImplementedError`, and by `pass`)
and the empty solution must each fail at least one visible and one hidden
test, so no test suite is trivially satisfiable.

Nothing here is a copy of how the product judges a task: the sources are
checked, their tests counted and the stubs built by the admission gate's own
checker (agents/sandbox/admission_checker.py, imported), so the seed also
passes the gate's rules 2 and 3; every run goes through the sandbox's own
Python harness (agents/sandbox/harness.py), started the way exec.c starts
it, so tests are counted and judged as the Builder's runs count them. What
is left here is the seed's own policy (fields, sizes, skills, the modules a
seed task may use). Each task and hash seed gets one python3 process (this
script again, with --run-job) that forks one child per run with a timeout.
Standard library only.

Prints a table and exits 0 when everything holds, 1 with one message per
problem otherwise, 2 when the file cannot be read. With --controls it checks
itself instead: the first task as it is must pass, and copies of it broken
in known ways (CONTROLS) must each be reported.
"""
import argparse
import ast
import concurrent.futures
import json
import os
import re
import resource
import select
import signal
import subprocess
import sys
import tempfile
import time

SKILLS = ("strings", "lists", "dicts", "recursion", "sorting", "math",
          "parsing", "classes", "iterators", "error_handling")
TASK_FIELDS = ("goal", "difficulty", "priority", "skills", "language", "tests",
               "hidden_tests", "constraints", "timeout_s")
FIELDS = TASK_FIELDS + ("reference", "id_hint")
MAX_LINE = 262144                     # task/task.h TASK_MAX_LINE
MAX_GOAL = 8192
MAX_TESTS = 65536
MAX_SKILLS, MAX_SKILL_LEN = 16, 64
MAX_CONSTRAINTS, MAX_CONSTRAINT = 32, 1024
VISIBLE_RANGE = (2, 3)
HIDDEN_RANGE = (4, 8)
ID_HINT = re.compile(r"([a-z][a-z0-9_]*)-([1-9][0-9]*)")
SKILL = re.compile(r"[a-z0-9_-]{1,%d}" % MAX_SKILL_LEN)
# Modules whose use makes a test or a reference nondeterministic, slow or
# dependent on the machine; the sandbox has no network either.
BANNED_MODULES = {
    "asyncio", "concurrent", "ctypes", "datetime", "ftplib", "http", "multiprocessing",
    "os", "pathlib", "random", "secrets", "select", "shutil", "signal", "smtplib",
    "socket", "ssl", "subprocess", "tempfile", "threading", "time", "urllib", "uuid",
}
# A suite slower than this (its tests' own run time, start-up excluded) is
# reported: seed tasks must be quick even on a loaded 2-core machine.
SLOW_SUITE_S = 3.0
# The checker's limit on one run, below the tasks' timeout_s (10): a seed test
# that needs more is a problem anyway, and a hung test should not make the
# check slow.
RUN_CAP_S = 5

HERE = os.path.dirname(os.path.abspath(__file__))
SANDBOX = os.path.join(HERE, "..", "agents", "sandbox")
sys.path.insert(0, SANDBOX)
sys.dont_write_bytecode = True     # nothing written into the source tree
import admission_checker  # noqa: E402  (the gate's checker, agents/sandbox)
import harness  # noqa: E402  (the sandbox's Python harness, agents/sandbox)
# The sandbox's default address-space limit (agents/sandbox/exec.h).
RUN_MEMORY = 512 << 20


class Task:
    """One line of the curriculum and what was found about it."""

    def __init__(self, lineno):
        self.lineno = lineno
        self.data = None
        self.name = "line %d" % lineno
        self.problems = []
        self.counts = {}          # suite -> number of tests (static)
        self.runs = {}            # (variant, suite) -> run result dict

    def problem(self, msg):
        if msg not in self.problems:
            self.problems.append(msg)


def utf8_len(s):
    return len(s.encode("utf-8"))


def has_control(s, allow_newline):
    for ch in s:
        cp = ord(ch)
        if ch == "\t" or (allow_newline and ch == "\n"):
            continue
        if cp < 0x20 or 0x7F <= cp <= 0x9F:
            return "U+%04X" % cp
    return None


def no_duplicate_keys(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError("field %r given twice" % (key,))
        seen[key] = value
    return seen


def refuse_constant(name):
    raise ValueError("%s is not valid JSON" % name)


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_string(task, field, max_bytes, min_bytes=0, trim=False):
    v = task.data[field]
    if not isinstance(v, str):
        task.problem("field '%s' must be a string, got %s" % (field, type(v).__name__))
        return None
    if trim:
        v = v.strip(" \t\n")
    n = utf8_len(v)
    if n < min_bytes or n > max_bytes:
        task.problem("field '%s' must be %d to %d bytes%s, got %d"
                     % (field, min_bytes, max_bytes, " after trimming" if trim else "", n))
    cc = has_control(v, allow_newline=True)
    if cc:
        task.problem("field '%s' holds control character %s" % (field, cc))
    return v


def check_fields(task):
    d = task.data
    keys = list(d)
    missing = [f for f in FIELDS if f not in d]
    unknown = [k for k in keys if k not in FIELDS]
    if missing:
        task.problem("missing field(s): %s" % ", ".join(missing))
    if unknown:
        task.problem("unknown field(s): %s" % ", ".join(unknown))
    if missing:
        return False

    hint = d["id_hint"]
    if isinstance(hint, str):
        task.name = hint
    if not isinstance(hint, str) or not ID_HINT.fullmatch(hint):
        task.problem("field 'id_hint' must look like 'SKILL-N', got %r" % (hint,))

    check_string(task, "goal", MAX_GOAL, 1, trim=True)
    if not is_number(d["difficulty"]) or not 0 <= d["difficulty"] <= 1:
        task.problem("field 'difficulty' must be a number from 0 to 1, got %r" % (d["difficulty"],))
    if not is_int(d["priority"]) or d["priority"] != 0:
        task.problem("field 'priority' must be 0 for seed tasks, got %r" % (d["priority"],))
    if d["language"] != "python":
        task.problem("field 'language' must be \"python\", got %r" % (d["language"],))
    if not is_int(d["timeout_s"]) or d["timeout_s"] != 10:
        task.problem("field 'timeout_s' must be 10, got %r" % (d["timeout_s"],))

    skills = d["skills"]
    if (not isinstance(skills, list) or not skills or len(skills) > MAX_SKILLS
            or not all(isinstance(s, str) for s in skills)):
        task.problem("field 'skills' must be a list of 1 to %d strings" % MAX_SKILLS)
    else:
        for s in skills:
            if not SKILL.fullmatch(s):
                task.problem("skill %r is not 1..%d characters of a-z 0-9 _ -" % (s, MAX_SKILL_LEN))
            elif s not in SKILLS:
                task.problem("skill %r is not one of the seed skills" % (s,))
        if len(set(skills)) != len(skills):
            task.problem("field 'skills' repeats a skill")
        m = ID_HINT.fullmatch(hint) if isinstance(hint, str) else None
        if m and skills[0] != m.group(1):
            task.problem("first skill %r does not match id_hint %r" % (skills[0], hint))

    cons = d["constraints"]
    if (not isinstance(cons, list) or len(cons) > MAX_CONSTRAINTS
            or not all(isinstance(c, str) for c in cons)):
        task.problem("field 'constraints' must be a list of at most %d strings" % MAX_CONSTRAINTS)
    else:
        for c in cons:
            n = utf8_len(c.strip(" \t\n"))
            if not 1 <= n <= MAX_CONSTRAINT or has_control(c, True):
                task.problem("constraint %r must be 1..%d bytes without control characters"
                             % (c[:40], MAX_CONSTRAINT))

    ok = True
    for field in ("tests", "hidden_tests", "reference"):
        if check_string(task, field, MAX_TESTS, 1) is None:
            ok = False
    return ok and isinstance(d["goal"], str)


def imported_modules(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                yield node.lineno, "." * node.level + (node.module or "")
            else:
                yield node.lineno, (node.module or "").split(".")[0]


def check_imports(task, field, tree, allow_solution):
    stdlib = getattr(sys, "stdlib_module_names", None)
    for lineno, mod in imported_modules(tree):
        if allow_solution and mod in ("solution", "main"):
            continue
        if mod in BANNED_MODULES:
            task.problem("%s line %d imports %r (nondeterministic or system-dependent)"
                         % (field, lineno, mod))
        elif stdlib is not None and mod not in stdlib:
            task.problem("%s line %d imports %r, which is not in the standard library"
                         % (field, lineno, mod))


def check_static(task):
    d = task.data
    # The gate's rules 2 and 3 first (admission.h): the sources compile, each
    # suite holds tests, nothing banned.
    gate = admission_checker.check(lambda what: d[what])
    for field in ("reference", "tests", "hidden_tests"):
        info = gate[field]
        if info["error"]:
            task.problem("%s does not compile: %s" % (field, info["error"]))
        elif info["banned"]:
            task.problem("%s %s (the admission gate refuses it)" % (field, info["banned"]))
    if gate["stub"] is None:
        task.problem("the admission checker built no stub: %s" % gate.get("stub_error", "?"))
    trees = {}
    for field in ("reference", "tests", "hidden_tests"):
        try:
            trees[field] = ast.parse(d[field], field)
        except (SyntaxError, ValueError):
            pass        # the checker said why
    if len(trees) < 3 or gate["stub"] is None:
        return False

    ref = trees["reference"]
    check_imports(task, "reference", ref, allow_solution=False)
    defined = {n.name for n in ref.body
               if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    if not defined:
        task.problem("reference defines no top-level function or class")

    dumps = {}
    for field, (lo, hi) in (("tests", VISIBLE_RANGE), ("hidden_tests", HIDDEN_RANGE)):
        tree = trees[field]
        check_imports(task, field, tree, allow_solution=True)
        nodes = admission_checker.test_nodes(tree)
        task.counts[field] = len(nodes)
        if not lo <= len(nodes) <= hi:
            task.problem("%s has %d tests; it must have %d to %d" % (field, len(nodes), lo, hi))
        names = [n.name for n in nodes if isinstance(n, ast.FunctionDef)]
        for n in nodes:
            if isinstance(n, ast.FunctionDef) and (n.args.args or n.args.posonlyargs
                                                   or n.args.kwonlyargs or n.args.vararg
                                                   or n.args.kwarg):
                task.problem("%s: %s() takes arguments; the sandbox calls it with none"
                             % (field, n.name))
        for name in set(names):
            if names.count(name) > 1:
                task.problem("%s defines %s() twice: only the last one would run" % (field, name))
        dumps[field] = {ast.dump(n) for n in nodes}
        # Hidden tests are never shown, so every name of the solution they
        # rely on must be named in the goal.
        used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        for name in sorted(used & defined):
            if not re.search(r"(?<![A-Za-z0-9_])%s(?![A-Za-z0-9_])" % re.escape(name), d["goal"]):
                task.problem("%s use %r, which the goal does not name" % (field, name))
    shared = dumps["tests"] & dumps["hidden_tests"]
    if shared:
        task.problem("%d test(s) appear in both tests and hidden_tests" % len(shared))
    return True


def stub_source(reference, stmt):
    """The reference with every function body replaced by stmt, built by the
    gate's own stubber."""
    return admission_checker.stub_source(ast.parse(reference), stmt)


# The gate's stub (rule 5 of admission.h), a stricter one of the seed's own,
# and the gate's empty solution.
VARIANTS = (
    ("ref", None),
    ("raise", "raise NotImplementedError"),
    ("pass", "pass"),
    ("empty", None),
)
EMPTY_SOLUTION = "pass\n"      # admission.c must_fail
SUITES = ("tests", "hidden_tests")


def harness_verdicts(text, nonce, timed_out, timeout_s):
    """Reads the harness's verdict lines (docs/sandbox.md) as exec.c does:
    only complete lines that start with the nonce count. Returns
    {"results": [[name, ok, message]]} or {"error": message}."""
    total, results, syntax = None, [], None
    for line in text.split("\n")[:-1]:
        if not line.startswith(nonce + " "):
            continue
        kind, _, rest = line[len(nonce) + 1:].partition(" ")
        if kind == "total":
            total = int(rest)
        elif kind == "pass":
            results.append([rest, True, ""])
        elif kind == "fail":
            name, _, msg = rest.partition(" ")
            results.append([name, False, msg])
        elif kind == "syntax":
            syntax = rest
        elif kind == "error":
            return {"error": "harness: " + rest}
    if total is None:
        return {"error": "the harness reported nothing" + (" (timed out)" if timed_out else "")}
    if syntax is not None and not results:
        return {"error": "the code does not compile: " + syntax}
    # As in the sandbox: the tests that finished count, the rest failed.
    why = "the run timed out after %d s" % timeout_s if timed_out else "the run ended early"
    for i in range(len(results), total):
        results.append(["unfinished_%d" % (i + 1), False, why])
    return {"results": results}


def run_one(rundir, timeout_s):
    """One run in a forked child: the harness on main.py and tests.py in
    rundir, killed with its process group at the timeout."""
    nonce = os.urandom(16).hex()
    res_path = os.path.join(rundir, "verdicts")
    with open(os.path.join(rundir, "nonce"), "w", encoding="utf-8") as f:
        f.write(nonce + "\n")
    sys.stdout.flush()
    sys.stderr.flush()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        rc = 2
        try:
            os.setpgid(0, 0)
            os.chdir(rundir)
            resfd = os.open("verdicts", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            noncefd = os.open("nonce", os.O_RDONLY)
            sys.argv = ["_bt_harness.py", str(resfd), str(noncefd), "main.py", "tests.py"]
            rc = harness._bt_main()
        except BaseException:
            pass
        finally:
            os._exit(rc if isinstance(rc, int) else 2)
    try:
        os.setpgid(pid, pid)
    except OSError:
        pass            # the child did it first, or is gone
    pidfd = os.pidfd_open(pid)
    timed_out = not select.select([pidfd], [], [], timeout_s)[0]
    os.close(pidfd)
    try:
        os.killpg(pid, signal.SIGKILL)   # the tests' own children go too
    except OSError:
        pass
    os.waitpid(pid, 0)
    seconds = time.monotonic() - start
    try:
        with open(res_path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        text = ""
    out = harness_verdicts(text, nonce, timed_out, timeout_s)
    out["seconds"] = seconds
    return out


def run_job(job_path, out_path):
    """--run-job: every run of one task under one hash seed (this process
    was started with it), each in a forked child of this process."""
    with open(job_path, encoding="utf-8") as f:
        job = json.load(f)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (RUN_MEMORY, RUN_MEMORY))
    except (ValueError, OSError):
        pass
    timeout_s = max(1, int(job["timeout_s"]))
    out = [run_one(rundir, timeout_s) for rundir in job["runs"]]
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(out, f)


def run_task(workdir, runs, timeout_s, hash_seed):
    """Runs suites against solutions in one fresh python3 process (start-up
    costs 50-150 ms on a small machine, a fork a few ms); each run is a forked
    child of it, each test a child of that. runs: [(key, code, tests)].
    Returns {key: {"results": [[name, ok, message]], "seconds": s} or
    {"error": message}}."""
    os.makedirs(workdir)
    job = {"timeout_s": timeout_s, "runs": []}
    for i, (_, code, tests) in enumerate(runs):
        rundir = os.path.join(workdir, "run%d" % i)
        os.makedirs(rundir)
        for name, text in (("main.py", code), ("tests.py", tests)):
            with open(os.path.join(rundir, name), "w", encoding="utf-8") as f:
                f.write(text)
        job["runs"].append(rundir)
    job_path = os.path.join(workdir, "job.json")
    out_path = os.path.join(workdir, "result.json")
    with open(job_path, "w", encoding="utf-8") as f:
        json.dump(job, f)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
           "HOME": workdir, "TMPDIR": workdir, "PYTHONHASHSEED": str(hash_seed),
           "PYTHONDONTWRITEBYTECODE": "1"}
    limit = len(runs) * (timeout_s + 1) + 10
    with open(os.path.join(workdir, "stderr"), "w+b") as err:
        try:
            proc = subprocess.run([sys.executable, "-s", os.path.abspath(__file__),
                                   "--run-job", job_path, out_path],
                                  cwd=workdir, env=env, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=err, timeout=limit)
        except subprocess.TimeoutExpired:
            return {key: {"error": "runner timed out after %d s" % limit} for key, _, _ in runs}
        try:
            with open(out_path, encoding="utf-8") as f:
                results = json.load(f)
            return {key: res for (key, _, _), res in zip(runs, results)}
        except (OSError, ValueError):
            err.seek(0)
            lines = err.read().decode("utf-8", "replace").strip().splitlines()
            why = "runner failed (status %d): %s" % (proc.returncode,
                                                      lines[-1] if lines else "no output")
            return {key: {"error": why} for key, _, _ in runs}


def read_tasks(path):
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        print("check_seed: %s: %s" % (path, e.strerror), file=sys.stderr)
        sys.exit(2)
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    else:
        print("check_seed: %s: the last line has no newline" % path, file=sys.stderr)
    tasks = []
    for i, line in enumerate(lines, 1):
        task = Task(i)
        tasks.append(task)
        if len(line) > MAX_LINE:
            task.problem("line is %d bytes; the limit is %d" % (len(line), MAX_LINE))
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as e:
            task.problem("invalid UTF-8 at offset %d" % e.start)
            continue
        if not text.strip(" \t"):
            task.problem("blank line")
            continue
        cc = has_control(text, allow_newline=False)
        if cc:
            task.problem("control character %s in the line" % cc)
            continue
        try:
            data = json.loads(text, object_pairs_hook=no_duplicate_keys,
                              parse_constant=refuse_constant)
        except ValueError as e:
            task.problem("not valid JSON: %s" % e)
            continue
        if not isinstance(data, dict):
            task.problem("not a JSON object")
            continue
        task.data = data
    return tasks


def check_collection(tasks):
    """Problems across lines: unique id_hints and goals, every skill covered."""
    problems = []
    seen_hint, seen_goal = {}, {}
    primary = set()
    for t in tasks:
        if t.data is None or not isinstance(t.data.get("id_hint"), str):
            continue
        hint = t.data["id_hint"]
        if hint in seen_hint:
            t.problem("id_hint %r repeats line %d" % (hint, seen_hint[hint]))
        seen_hint.setdefault(hint, t.lineno)
        goal = t.data.get("goal")
        if isinstance(goal, str):
            key = " ".join(goal.split()).lower()
            if key in seen_goal:
                t.problem("goal repeats the goal of line %d" % seen_goal[key])
            seen_goal.setdefault(key, t.lineno)
        skills = t.data.get("skills")
        if isinstance(skills, list) and skills:
            primary.add(skills[0])
    for s in SKILLS:
        if s not in primary:
            problems.append("no task has %r as its first skill" % s)
    if not tasks:
        problems.append("the file holds no task")
    return problems


def judge(tasks, nworkers):
    """Checks every task (problems go to task.problems) and returns the rows
    of the table."""
    runnable = [t for t in tasks if t.data is not None and check_fields(t) and check_static(t)]

    with tempfile.TemporaryDirectory(prefix="check_seed.") as tmp:
        jobs = {}
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, nworkers)) as pool:
            for n, t in enumerate(runnable):
                # The reference also runs under a second hash seed, so a test
                # that depends on the iteration order of a set of strings
                # shows up.
                per_seed = {1: [], 2: []}
                for variant, stmt in VARIANTS:
                    try:
                        code = (EMPTY_SOLUTION if variant == "empty" else
                                t.data["reference"] if stmt is None else
                                stub_source(t.data["reference"], stmt))
                    except (SyntaxError, ValueError) as e:
                        t.problem("cannot build the %s stub: %s" % (variant, e))
                        continue
                    for suite in SUITES:
                        for seed in ((1, 2) if variant == "ref" else (1,)):
                            per_seed[seed].append(((variant, suite, seed), code, t.data[suite]))
                for seed, runs in per_seed.items():
                    wd = os.path.join(tmp, "%d-%d" % (n, seed))
                    fut = pool.submit(run_task, wd, runs,
                                      min(t.data["timeout_s"], RUN_CAP_S), seed)
                    jobs[fut] = t
            for fut in concurrent.futures.as_completed(jobs):
                jobs[fut].runs.update(fut.result())

    rows = []
    for t in tasks:
        row = [t.name, "-", "-", "-"]
        if t in runnable and t.runs:
            for col, suite in ((1, "tests"), (2, "hidden_tests")):
                fails = {}            # seed -> {test name: message}
                worst = None
                for seed in (1, 2):
                    res = t.runs.get(("ref", suite, seed))
                    if res is None:
                        continue
                    if "error" in res:
                        t.problem("reference on %s (hash seed %d): %s" % (suite, seed, res["error"]))
                        continue
                    results = res["results"]
                    if len(results) != t.counts.get(suite):
                        t.problem("%s: the runner counted %d tests, the parser %d"
                                  % (suite, len(results), t.counts.get(suite)))
                    fails[seed] = {name: msg for name, ok, msg in results if not ok}
                    if res["seconds"] > SLOW_SUITE_S:
                        t.problem("%s took %.1f s with the reference; keep seed tests fast"
                                  % (suite, res["seconds"]))
                    passed = len(results) - len(fails[seed])
                    if worst is None or passed < worst[0]:
                        worst = (passed, len(results))
                if worst:
                    row[col] = "%d/%d" % worst
                f1, f2 = fails.get(1, {}), fails.get(2, {})
                for name in list(f1) + [n for n in f2 if n not in f1]:
                    if name in f1 and name in f2:
                        t.problem("reference fails %s %s: %s" % (suite, name, f1[name]))
                    else:
                        seed = 1 if name in f1 else 2
                        t.problem("reference fails %s %s only with PYTHONHASHSEED=%d (does it "
                                  "depend on set or dict order?): %s"
                                  % (suite, name, seed, (f1 if seed == 1 else f2)[name]))
            stub_cells = []
            for variant in ("raise", "pass", "empty"):
                fails = []
                for suite in SUITES:
                    res = t.runs.get((variant, suite, 1))
                    if res is None:
                        fails.append("?")
                        continue
                    if "error" in res:
                        t.problem("%s stub on %s: %s" % (variant, suite, res["error"]))
                        fails.append("?")
                        continue
                    n = sum(1 for r in res["results"] if not r[1])
                    if n == 0:
                        who = ("the empty solution" if variant == "empty"
                               else "the %s stub" % variant)
                        t.problem("%s passes every test of %s: the suite proves nothing"
                                  % (who, suite))
                    fails.append(str(n))
                stub_cells.append("%s %s" % (variant, "/".join(fails)))
            row[3] = ", ".join(stub_cells)
        rows.append(row)
    return rows


# Negative controls (--controls): each breaks one thing of a good task, and
# the check must report it, so a check that passes everything cannot pass.
CONTROLS = (
    ("a banned import in the reference", "reference",
     lambda v: v + "\nimport socket\n", "the admission gate refuses it"),
    ("visible tests that prove nothing", "tests",
     lambda v: "assert True\nassert 1 == 1\n", "passes every test of tests"),
    ("visible tests that do not parse", "tests",
     lambda v: "assert (\n", "tests does not compile"),
    ("a hidden test the reference fails", "hidden_tests",
     lambda v: v + "\nassert False, 'control'\n", "reference fails hidden_tests"),
)


def run_controls(path, nworkers):
    """The first task of the file as it is (it must pass) and once per
    control (each must be reported). 0 when all hold, 1 otherwise."""
    base = next((t for t in read_tasks(path) if t.data is not None), None)
    if base is None:
        print("check_seed: %s: no task to build controls from" % path, file=sys.stderr)
        return 2
    made = []
    for change in [None] + [c[2] for c in CONTROLS]:
        t = Task(base.lineno)
        t.data = dict(base.data)
        if change:
            field = next(c[1] for c in CONTROLS if c[2] is change)
            t.data[field] = change(t.data[field])
        made.append(t)
    judge(made, nworkers)
    missed = 0
    if made[0].problems:
        missed += 1
        print("MISSED  the unchanged task passes: %s" % "; ".join(made[0].problems))
    else:
        print("ok      the unchanged task passes")
    for (what, _, _, expect), t in zip(CONTROLS, made[1:]):
        if any(expect in p for p in t.problems):
            print("ok      reported: %s" % what)
        else:
            missed += 1
            print("MISSED  not reported: %s (%s)" % (what, "; ".join(t.problems) or "no problem"))
    return 1 if missed else 0


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--run-job":
        run_job(sys.argv[2], sys.argv[3])
        return 0
    here = HERE
    ap = argparse.ArgumentParser(description="Check the seed curriculum.")
    ap.add_argument("file", nargs="?",
                    default=os.path.join(here, "..", "agents", "trainer", "seed", "curriculum.jsonl"))
    ap.add_argument("-j", "--jobs", type=int, default=max(2, min(8, (os.cpu_count() or 2) * 2)),
                    help="runs at a time")
    ap.add_argument("-q", "--quiet", action="store_true", help="print problems only")
    ap.add_argument("--controls", action="store_true",
                    help="check the checker: break the first task in known ways")
    args = ap.parse_args()
    if args.controls:
        return run_controls(args.file, args.jobs)

    t0 = time.monotonic()
    tasks = read_tasks(args.file)
    global_problems = check_collection(tasks)
    rows = judge(tasks, args.jobs)

    if not args.quiet:
        head = ["task", "visible", "hidden", "stub failures (visible/hidden)"]
        widths = [max(len(r[i]) for r in rows + [head]) for i in range(4)]
        fmt = "  ".join("%%-%ds" % w for w in widths)
        print(fmt % tuple(head))
        for r in rows:
            print(fmt % tuple(r))
        sys.stdout.flush()

    bad = [t for t in tasks if t.problems]
    for t in bad:
        for p in t.problems:
            print("check_seed: %s (line %d): %s" % (t.name, t.lineno, p), file=sys.stderr)
    for p in global_problems:
        print("check_seed: %s" % p, file=sys.stderr)
    nvis = sum(t.counts.get("tests", 0) for t in tasks)
    nhid = sum(t.counts.get("hidden_tests", 0) for t in tasks)
    print("%d tasks, %d visible and %d hidden tests, %d with problems, %.1f s"
          % (len(tasks), nvis, nhid, len(bad), time.monotonic() - t0))
    return 1 if bad or global_problems else 0


if __name__ == "__main__":
    sys.exit(main())
