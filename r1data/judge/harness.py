"""The programs r1data writes beside a judged Python program, and how each test reaches it. Every comparison
happens where the judged program cannot reach it:

- call-based tests (`CALL`): the program's process computes fn(*args) and prints it as plain data after `MARK`;
  r1data compares it with the expected value, which never enters the sandbox;
- `assert EXPR == VALUE` (`EXPR`): the same, for EXPR;
- any other assert (loops, `check(candidate)` with loops, comparisons of computed values): the test runs in a
  process of its own (`TEST_SIDE`), which starts the program in another (`PROGRAM_SIDE`) and reaches the program's
  names only through a pipe of plain data. The test side makes itself undumpable first, so the program (same uid)
  can neither read its memory, its stdin (which holds the test and a one-time token) nor write to its stdout; the
  program's own stdout goes to stderr. The test side prints the token when the test finished; a program that kills
  it, exits or lies about a value gets no token.

Parameters (function names, setup code, the test) travel as JSON on stdin, never spliced into these texts: a name
or setup code that contains a marker cannot change them. Nothing here imports r1data: the sandbox's Python runs
these files with -I.
"""

from __future__ import annotations

from r1data.ops.code import DICT_TAG

MARK = "\x1er1data-result:"

# The value a program computes, as plain data. A value of a plain type, or of a subclass of one (a Counter, an
# IntEnum, a namedtuple), is read through the base type's own methods, so an object whose __eq__ always says yes
# cannot pose as the expected value, which never enters the program's process. A dict whose keys are not all strings
# crosses as its pairs, sorted (`plain_value` in ops/code.py gives expected values the same form).
PLAIN = f"""
DICT_TAG = {DICT_TAG!r}
"""
PLAIN += """
def plain(v, depth=0):
    if depth > 100:
        raise ValueError("r1data: the value nests too deeply")
    d = depth + 1
    if v is None or v is True or v is False:
        return v
    if isinstance(v, int):
        return int.__int__(v)
    if isinstance(v, float):
        x = float.__float__(v)
        return x if x == x and abs(x) != float("inf") else repr(x)
    if isinstance(v, str):
        return str.__str__(v)
    if isinstance(v, list):
        return [plain(x, d) for x in list.__iter__(v)]
    if isinstance(v, tuple):
        return [plain(x, d) for x in tuple.__iter__(v)]
    if isinstance(v, set | frozenset):
        items = set.__iter__(v) if isinstance(v, set) else frozenset.__iter__(v)
        return sorted((plain(x, d) for x in items), key=repr)
    if isinstance(v, dict):
        pairs = [(plain(k, d), plain(x, d)) for k, x in dict.items(v)]
        if all(type(k) is str for k, _ in pairs):
            return dict(pairs)
        return {DICT_TAG: sorted(([k, x] for k, x in pairs), key=lambda p: repr(p[0]))}
    raise TypeError("r1data: the value is not plain data (" + type(v).__name__ + ")")
"""

_PRINT_RESULT = """
sys.stdout.flush()
sys.stdout.write("\\n" + MARK + json.dumps(result) + "\\n")
"""

CALL = (
    "import json, sys\n"
    + f"MARK = {MARK!r}\n"
    + PLAIN
    + """
job = json.loads(sys.stdin.readline())
name = job["name"]
ns = {"__name__": "solution"}
with open("solution.py") as f:
    exec(compile(f.read(), "solution.py", "exec"), ns)
fn = ns.get(name)
if fn is None and isinstance(ns.get("Solution"), type):
    fn = getattr(ns["Solution"](), name, None)
if fn is None:
    sys.stderr.write("r1data: no function named " + name + "\\n")
    sys.exit(97)
result = plain(fn(*job["args"]))
"""
    + _PRINT_RESULT
)

# An assert whose expected value stays outside: the program gets the expression only, r1data compares.
EXPR = (
    "import json, sys\n"
    + f"MARK = {MARK!r}\n"
    + PLAIN
    + """
job = json.loads(sys.stdin.readline())
ns = {"__name__": "solution"}
with open("solution.py") as f:
    exec(compile(job["setup"] + "\\n" + f.read(), "solution.py", "exec"), ns)
exec(compile(job["prelude"], "test_case.py", "exec"), ns)
result = plain(eval(compile(job["expr"], "test_case.py", "eval"), ns))
"""
    + _PRINT_RESULT
)

# Values between the two sides: JSON, with tags for what JSON lacks. A value of a plain type (or a subclass of one,
# read through the base type's own methods, so it cannot pose) crosses as data; anything else stays on the program's
# side and crosses as a reference.
CODEC = """
import base64 as _b64

def enc(v, other, depth=0):
    if depth > 100:
        raise ValueError("r1data: the value nests too deeply")
    d = depth + 1
    if v is None or v is True or v is False:
        return v
    if isinstance(v, bool):
        return bool(v)
    if isinstance(v, int):
        return int.__int__(v)
    if isinstance(v, float):
        x = float.__float__(v)
        return x if x == x and abs(x) != float("inf") else {"float": repr(x)}
    if isinstance(v, str):
        return str.__str__(v)
    if isinstance(v, bytes):
        return {"bytes": _b64.b64encode(bytes(memoryview(v))).decode()}
    if isinstance(v, complex):
        return {"complex": [enc(complex.real.__get__(v), other, d), enc(complex.imag.__get__(v), other, d)]}
    if isinstance(v, list):
        return [enc(x, other, d) for x in list.__iter__(v)]
    if isinstance(v, tuple):
        return {"tuple": [enc(x, other, d) for x in tuple.__iter__(v)]}
    if isinstance(v, frozenset):
        return {"frozenset": [enc(x, other, d) for x in frozenset.__iter__(v)]}
    if isinstance(v, set):
        return {"set": [enc(x, other, d) for x in set.__iter__(v)]}
    if isinstance(v, dict):
        return {"dict": [[enc(k, other, d), enc(x, other, d)] for k, x in dict.items(v)]}
    return other(v)

def dec(x, ref, depth=0):
    if depth > 100:
        raise ValueError("r1data: the value nests too deeply")
    d = depth + 1
    if isinstance(x, list):
        return [dec(y, ref, d) for y in x]
    if not isinstance(x, dict):
        return x
    if len(x) == 1:
        (tag, body), = x.items()
        if tag == "float":
            return float(body)
        if tag == "bytes":
            return _b64.b64decode(body)
        if tag == "complex":
            return complex(body[0], body[1])
        if tag == "tuple":
            return tuple(dec(y, ref, d) for y in body)
        if tag == "set":
            return {dec(y, ref, d) for y in body}
        if tag == "frozenset":
            return frozenset(dec(y, ref, d) for y in body)
        if tag == "dict":
            return {dec(k, ref, d): dec(y, ref, d) for k, y in body}
    return ref(x)

def send(f, obj):
    f.write(json.dumps(obj) + "\\n")
    f.flush()
"""

# The program's side: loads the program, then answers the test side's requests about its names. Its own stdout
# goes to stderr; it talks on fds 3 (requests) and 4 (answers) only.
PROGRAM_SIDE = (
    "import itertools, json, os, sys\n"
    + CODEC
    + """
requests = os.fdopen(3, "r")
answers = os.fdopen(4, "w")
refs = {}

def keep(v):
    refs[id(v)] = v
    return {"ref": id(v), "type": type(v).__name__, "callable": callable(v)}

def strict(v):
    raise TypeError("r1data: the value is not plain data (" + type(v).__name__ + ")")

def value(body):
    return refs[body["ref"]]

def out(v):
    return enc(v, keep)

def handle(op, target, args, kwargs):
    if op == "call":
        result = target(*args, **kwargs)
        mutable = [a if type(a) in (list, dict, set) else None for a in args]
        return {"value": out(result), "args": [out(a) if a is not None else None for a in mutable]}
    if op == "getattr":
        return {"value": out(getattr(target, args[0]))}
    if op == "getitem":
        return {"value": out(target[args[0]])}
    if op == "iter":
        return {"value": [out(x) for x in itertools.islice(iter(target), 10 ** 7)]}
    if op == "len":
        return {"value": len(target)}
    if op == "contains":
        return {"value": bool(args[0] in target)}
    if op == "bool":
        return {"value": bool(target)}
    if op == "str":
        return {"value": out(str(target))}
    if op == "repr":
        return {"value": out(repr(target))}
    if op == "plain":
        return {"value": enc(target, strict)}
    raise ValueError("r1data: unknown request " + repr(op))

def failure(exc):
    return {"raise": type(exc).__name__, "message": str(exc)[:2000]}

hello = json.loads(requests.readline())
ns = {"__name__": "solution"}
try:
    with open("solution.py") as f:
        exec(compile(hello["setup"] + "\\n" + f.read(), "solution.py", "exec"), ns)
except BaseException as exc:
    send(answers, failure(exc))
    sys.exit(0)
names = {}
for name, v in list(ns.items()):
    if name.startswith("__"):
        continue
    if type(v) is type(sys):
        names[name] = {"module": {"name": v.__name__}}
    else:
        try:
            names[name] = out(v)
        except Exception:
            continue
send(answers, {"names": names})
for line in requests:
    request = json.loads(line)
    try:
        target = dec(request["target"], value)
        args = [dec(a, value) for a in request.get("args", [])]
        kwargs = {k: dec(a, value) for k, a in request.get("kwargs", {}).items()}
        answer = handle(request["op"], target, args, kwargs)
    except BaseException as exc:
        answer = failure(exc)
    send(answers, answer)
"""
)

# The test's side: reads the job (token, setup, test) from stdin, makes itself undumpable, starts the program's side
# and runs the test against proxies of the program's names.
TEST_SIDE = (
    "import builtins, ctypes, importlib, json, os, signal, sys\n"
    + CODEC
    + """
job = json.loads(sys.stdin.readline())
sys.stdin.close()
ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0: the program cannot read or write this process

def start():
    ends = os.pipe() + os.pipe()  # (requests read, requests write, answers read, answers write)
    pid = os.fork()
    if pid == 0:
        try:
            high = [os.dup(fd) for fd in ends]
            os.dup2(high[0], 3)
            os.dup2(high[3], 4)
            null = os.open("/dev/null", os.O_RDONLY)
            os.dup2(null, 0)
            os.dup2(2, 1)  # the program's prints go to stderr, never to the test side's stdout
            os.closerange(5, 65536)
            os.execv(sys.executable, [sys.executable, "-I", "program_side.py"])
        finally:
            os._exit(127)
    os.close(ends[0])
    os.close(ends[3])
    return pid, os.fdopen(ends[1], "w"), os.fdopen(ends[2], "r")

PID, REQUESTS, ANSWERS = start()

def program_ended():
    _, status = os.waitpid(PID, 0)
    if os.WIFSIGNALED(status):  # the same end for the whole test: a memory or CPU limit reads the same
        sys.stderr.flush()
        os.kill(os.getpid(), os.WTERMSIG(status))
        os._exit(3)
    sys.stderr.write("r1data: the program exited (code " + str(os.WEXITSTATUS(status)) + ") during the test\\n")
    sys.stderr.flush()
    os._exit(3)

def answer():
    line = ANSWERS.readline(1 << 28)
    if not line:
        program_ended()
    reply = json.loads(line)
    if "raise" in reply:
        kind = getattr(builtins, str(reply["raise"]), None)
        if not (isinstance(kind, type) and issubclass(kind, Exception)):  # never SystemExit & co.
            kind = type(str(reply["raise"]), (Exception,), {})
        raise kind(reply["message"])
    return reply

def refuse(v):
    if isinstance(v, Remote):
        return {"ref": object.__getattribute__(v, "_ref")}
    raise TypeError("r1data: a " + type(v).__name__ + " cannot be passed to the program (plain data only)")

def remote(body):
    return Remote(body["ref"], body.get("type", "object"))

def ask(op, target, *args, **kwargs):
    send(REQUESTS, {"op": op, "target": enc(target, refuse), "args": [enc(a, refuse) for a in args],
                    "kwargs": {k: enc(a, refuse) for k, a in kwargs.items()}})
    reply = answer()
    if op == "call":
        for given, now in zip(args, reply["args"]):
            if now is None:
                continue
            now = dec(now, remote)
            if type(given) is list:
                given[:] = now
            elif type(given) in (dict, set):
                given.clear()
                given.update(now)
    return dec(reply["value"], remote)

class Remote:
    __slots__ = ("_ref", "_type")

    def __init__(self, ref, kind):
        object.__setattr__(self, "_ref", ref)
        object.__setattr__(self, "_type", kind)

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return ask("getattr", self, name)

    def __call__(self, *args, **kwargs):
        return ask("call", self, *args, **kwargs)

    def __iter__(self):
        return iter(ask("iter", self))

    def __len__(self):
        return ask("len", self)

    def __getitem__(self, key):
        return ask("getitem", self, key)

    def __contains__(self, item):
        return ask("contains", self, item)

    def __bool__(self):
        return ask("bool", self)

    def __str__(self):
        return ask("str", self)

    def __repr__(self):
        return ask("repr", self)

    def _plain(self):
        return ask("plain", self)

    def _compare(self, other, how):
        try:
            mine = self._plain()
        except Exception:
            return NotImplemented
        return how(mine, other)

    def __eq__(self, other):
        return self._compare(other, lambda a, b: a == b)

    def __ne__(self, other):
        return self._compare(other, lambda a, b: a != b)

    def __lt__(self, other):
        return self._compare(other, lambda a, b: a < b)

    def __le__(self, other):
        return self._compare(other, lambda a, b: a <= b)

    def __gt__(self, other):
        return self._compare(other, lambda a, b: a > b)

    def __ge__(self, other):
        return self._compare(other, lambda a, b: a >= b)

    def __hash__(self):
        try:
            return hash(self._plain())
        except Exception:
            return id(self)

send(REQUESTS, {"setup": job["setup"]})
names = answer()["names"]
ns = {"__name__": "solution"}
for name, v in names.items():
    if isinstance(v, dict) and len(v) == 1 and "module" in v:
        try:  # the test side imports the module itself: no object of the program's crosses
            ns[name] = importlib.import_module(v["module"]["name"])
        except Exception:  # a module of the program's own: the test does without that name (a NameError if used)
            continue
        continue
    ns[name] = dec(v, remote)
exec(compile(job["setup"], "setup.py", "exec"), ns)
exec(compile(job["case"], "test_case.py", "exec"), ns)
sys.stdout.flush()
sys.stdout.write("\\n" + job["token"] + "\\n")
sys.stdout.flush()
REQUESTS.close()
os._exit(0)
"""
)
