# Builder-Trainer admission checker for Python (docs/admission.md). Parses
# the reference and the tests (never runs them), counts tests the way the
# harness does, looks for banned modules and calls, and builds the stub.
# Prints one JSON object on stdout.
#
# admission.c runs this file in the sandbox as main.py, with the sources
# under in/ and the sandbox's harness beside it as _bt_harness.py (both are
# compiled into btfs by scripts/embed.py); nothing of the
# proposal is executed, so its answer can be trusted. scripts/check_seed.py
# imports it to judge the seed by the same rules: check(), test_nodes() and
# stub_source() are its interface.
import ast, json, sys

try:
    import _bt_harness as harness   # beside main.py, in the sandbox
except ImportError:
    import harness                  # agents/sandbox/, for scripts/check_seed.py

NET = {"socket", "ssl", "http", "urllib", "urllib2", "urllib3", "requests",
       "httpx", "aiohttp", "ftplib", "smtplib", "poplib", "imaplib", "nntplib",
       "telnetlib", "socketserver", "xmlrpc", "asyncore", "asynchat",
       "websocket", "websockets", "paramiko", "webbrowser"}
PROC = {"subprocess", "multiprocessing", "threading", "_thread", "concurrent", "pty"}
NATIVE = {"ctypes", "cffi"}
UNSEEDED = {"secrets"}
CALLS = {
    "os.system": "processes", "os.popen": "processes", "os.fork": "processes",
    "os.forkpty": "processes", "os.posix_spawn": "processes",
    "os.posix_spawnp": "processes", "os.kill": "processes",
    "os.killpg": "processes", "os.urandom": "unseeded randomness",
    "os.getrandom": "unseeded randomness",
    "random.SystemRandom": "unseeded randomness",
    "uuid.uuid1": "unseeded randomness", "uuid.uuid4": "unseeded randomness",
    "time.time": "the clock", "time.time_ns": "the clock",
    "time.monotonic": "the clock", "time.monotonic_ns": "the clock",
    "time.perf_counter": "the clock", "time.perf_counter_ns": "the clock",
    "time.process_time": "the clock", "time.process_time_ns": "the clock",
    "time.thread_time": "the clock", "time.thread_time_ns": "the clock",
    "time.clock_gettime": "the clock", "time.clock_gettime_ns": "the clock",
    "datetime.datetime.now": "the clock", "datetime.datetime.utcnow": "the clock",
    "datetime.datetime.today": "the clock", "datetime.date.today": "the clock",
}
PREFIXES = {"os.exec": "processes", "os.spawn": "processes"}
# clock reads only when called without the time to convert
NOARG = {"time.localtime", "time.gmtime", "time.ctime", "time.asctime"}


def module_kind(name):
    top = name.split(".")[0]
    if top in NET:
        return "the network"
    if top in PROC:
        return "processes or threads"
    if top in NATIVE:
        return "native code"
    if top in UNSEEDED:
        return "unseeded randomness"
    return None


def name_kind(dotted):
    if dotted in CALLS:
        return CALLS[dotted]
    for p, k in PREFIXES.items():
        if dotted.startswith(p) and "." not in dotted[len(p):]:
            return k
    return None


def find_banned(tree, base_alias, base_seeded):
    # the tests run in the solution's namespace, so they see its imports
    alias = dict(base_alias)
    found = []
    uses_random = []
    seeded = base_seeded
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname:
                    alias[a.asname] = a.name
                else:
                    top = a.name.split(".")[0]
                    alias[top] = top
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            for a in node.names:
                alias[a.asname or a.name] = node.module + "." + a.name

    def resolve(e):
        if isinstance(e, ast.Name):
            return alias.get(e.id)
        if isinstance(e, ast.Attribute):
            base = resolve(e.value)
            return base + "." + e.attr if base else None
        return None

    def const(e):
        return isinstance(e, ast.Constant) and e.value is not None and \
            isinstance(e.value, (int, float, str, bytes))

    def module_use(line, mod, how):
        k = module_kind(mod)
        if k:
            found.append((line, "%s %s (%s)" % (how, mod, k)))
        if mod.split(".")[0] == "random":
            uses_random.append(line)

    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Import):
            for a in node.names:
                module_use(line, a.name, "imports")
        elif isinstance(node, ast.ImportFrom):
            if node.level or not node.module:
                continue
            module_use(line, node.module, "imports")
            for a in node.names:
                k = name_kind(node.module + "." + a.name)
                if k:
                    found.append((line, "imports %s.%s (%s)" % (node.module, a.name, k)))
        elif isinstance(node, (ast.Name, ast.Attribute)):
            d = resolve(node)
            if d:
                k = name_kind(d)
                if k:
                    found.append((line, "uses %s (%s)" % (d, k)))
                if d.startswith("random."):
                    uses_random.append(line)
        if isinstance(node, ast.Call):
            d = resolve(node.func)
            f = node.func
            if d in NOARG and not node.args and not node.keywords:
                found.append((line, "calls %s() without a time (the clock)" % d))
            if d in ("random.seed", "random.Random") and node.args and const(node.args[0]):
                seeded = True
            dyn = (isinstance(f, ast.Name) and f.id == "__import__") or d == "importlib.import_module"
            if dyn:
                if node.args and isinstance(node.args[0], ast.Constant) and \
                        isinstance(node.args[0].value, str):
                    module_use(line, node.args[0].value, "imports")
                else:
                    found.append((line, "imports a module named at run time"))
    if uses_random and not seeded:
        found.append((min(uses_random), "uses random without random.seed(<constant>) "
                      "(unseeded randomness)"))
    found.sort()
    return ("line %d: %s" % found[0] if found else None), alias, seeded


def test_nodes(tree):
    # the tests the harness will run, by its own definition
    return [n for n in tree.body if harness.is_test(n)]


class Stubber(ast.NodeTransformer):
    # every function body (methods included) becomes one statement; the
    # docstring stays
    def __init__(self, stmt="raise NotImplementedError"):
        self.stmt = stmt

    def _stub(self, node):
        body = []
        if ast.get_docstring(node, clean=False) is not None:
            body.append(node.body[0])
        body.append(ast.parse(self.stmt).body[0])
        node.body = body
        return node

    def visit_FunctionDef(self, node):
        return self._stub(node)

    def visit_AsyncFunctionDef(self, node):
        return self._stub(node)


def stub_source(tree, stmt="raise NotImplementedError"):
    # changes tree in place
    return ast.unparse(ast.fix_missing_locations(Stubber(stmt).visit(tree))) + "\n"


def check(load):
    # load(what) gives the source of "reference", "tests" or "hidden_tests"
    # (and may raise); returns the object printed on stdout below
    out = {}
    ref_tree = None
    ref_alias, ref_seeded = {}, False
    for what in ("reference", "tests", "hidden_tests"):
        info = {"error": None, "tests": 0, "banned": None}
        out[what] = info
        try:
            src = load(what)
            fname = what + ".py"
            compile(src, fname, "exec", dont_inherit=True)
            tree = ast.parse(src, fname)
        except SyntaxError as e:
            info["error"] = "%s: %s (line %s)" % (type(e).__name__, e.msg, e.lineno)
            continue
        except BaseException as e:
            info["error"] = "%s: %s" % (type(e).__name__, " ".join(str(e).split())[:300])
            continue
        info["tests"] = len(test_nodes(tree))
        info["banned"], alias, seeded = find_banned(tree, ref_alias, ref_seeded)
        if what == "reference":
            ref_tree, ref_alias, ref_seeded = tree, alias, seeded
    out["stub"] = None
    if ref_tree is not None:
        try:
            out["stub"] = stub_source(ref_tree)
        except BaseException as e:
            out["stub_error"] = "%s: %s" % (type(e).__name__, e)
    return out


def load_file(what):
    with open("in/" + what + ".py", encoding="utf-8") as f:
        return f.read()


if __name__ == "__main__":
    sys.stdout.write(json.dumps(check(load_file), ensure_ascii=False))
