"""Child side of the code sandbox, run as ``python -I sandbox_harness.py PAYLOAD_FD VERDICT_FD``.

It starts in a bare interpreter and imports nothing from this package. It locks the process
down, runs the candidate code, then the hardened tests, and writes the verdict to VERDICT_FD.

The pass token is held only by an audit hook (which Python code can neither see nor remove); the
hook writes it when the harness's own frame raises the pass event after the last test, so no
frame, global or object that candidate code can reach holds the token. The hook also refuses
what could reach it anyway or move the harness's frame: gc walks, ctypes, hand-made code
objects, tracing and profiling, and ``/proc`` (memory); the seccomp filter set up by the host
refuses ``ptrace``-like syscalls. Tests run in their own namespace, with builtins and common
modules as they were before the candidate ran, so patching those does not reach the tests.
"""

import ast
import builtins
import ctypes
import json
import operator
import os
import resource
import signal
import sys
import types

# Standard modules tests often import; tests get copies taken before any candidate code ran.
TEST_MODULES = ("math", "re", "collections", "itertools", "functools", "heapq", "string", "random", "json",
                "copy", "operator", "fractions", "decimal", "statistics", "typing", "bisect", "cmath")
# Audit events refused once candidate code runs (see the module docstring).
REFUSED_EVENTS = {
    "sys.settrace", "sys.setprofile", "sys._settraceallthreads", "sys._setprofileallthreads",
    "sys.addaudithook", "gc.get_objects", "gc.get_referrers", "gc.get_referents", "code.__new__",
}
PASS_EVENT = "hybridthink.sandbox.pass"


def main() -> None:
    """Lock down, run candidate code then hardened tests, report the verdict."""
    write, exit_, getpid, pid0 = os.write, os._exit, os.getpid, os.getpid()
    with os.fdopen(int(sys.argv[1]), "rb") as f:
        cfg = json.loads(f.read())
    out = int(sys.argv[2])
    os.set_inheritable(out, False)

    def verdict(message: str) -> None:  # failures only: a pass goes through the audit hook
        # Copies forked by candidate code would otherwise let it try several answers in parallel.
        if getpid() == pid0:
            write(out, message.encode()[:2000])
        exit_(0)

    def on_cpu_limit(*_) -> None:  # candidate code can fetch this handler: it holds no secret
        if getpid() == pid0:
            write(out, b"timeout: CPU time limit")
        exit_(0)

    # Taken while the interpreter's own files are still readable (a root host drops the uid).
    test_builtins = {**builtins.__dict__, "__import__": pristine_import()}
    try:
        lock_down(cfg, on_cpu_limit)
    except OSError as err:
        verdict(f"error: sandbox setup failed: {err}")

    line = [None]  # the tests line being run, kept where candidate code cannot reach it
    try:
        code = compile(cfg["code"], "<candidate>", "exec")
        tests = compile(ast.fix_missing_locations(Harden().visit(ast.parse(cfg["tests"]))), "<tests>", "exec")
    except (SyntaxError, ValueError) as err:
        verdict(f"error: does not compile: {err}")

    module = types.ModuleType("solution")
    sys.modules["solution"] = module
    stage = "candidate code"
    sys.addaudithook(make_guard(cfg.pop("token"), out, sys._getframe()))
    try:
        exec(code, module.__dict__)
        stage = "tests"
        namespace = {**module.__dict__, "__builtins__": test_builtins, **strict_helpers(line)}
        exec(tests, namespace)
    except BaseException as err:  # SystemExit and friends are failures too
        where = f" at tests line {line[0]}" if stage == "tests" and line[0] else ""
        try:
            message = f"{type(err).__name__} in {stage}{where}: {str(err)[:200]}".rstrip(": ")
        except BaseException:  # a candidate exception whose __str__ fails
            message = f"exception in {stage}{where}"
        verdict(f"failed: {message}")
    sys.audit(PASS_EVENT)
    verdict("error: the pass was refused")


def lock_down(cfg: dict, on_cpu_limit) -> None:
    """Namespaced mounts, rlimits, uid or capability drop, no_new_privs, seccomp."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    ul = ctypes.c_ulong

    def check(rc: int, what: str) -> None:
        if rc != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"{what}: {os.strerror(err)}")

    def mount(src, dst, fstype, flags, data=None) -> None:
        src, dst_b, fstype, data = (s.encode() if s else None for s in (src, dst, fstype, data))
        check(libc.mount(src, dst_b, fstype, flags, data), f"mount {dst}")

    def expose(paths) -> None:
        # Root only: the candidate's uid must still read the interpreter, which may sit below a
        # private directory such as /root. Mount a tmpfs over that directory and bind the needed
        # paths back in; everything else there stays hidden.
        groups = {}
        for p in sorted({os.path.realpath(p) for p in paths if p and os.path.isdir(p)}):
            ancestors = [os.path.join("/", *p.split("/")[1:i]) for i in range(2, p.count("/") + 1)]
            hidden = next((a for a in ancestors if not os.stat(a).st_mode & 0o001), None)
            if hidden and not any(p.startswith(q + "/") for q in groups.get(hidden, [])):
                groups.setdefault(hidden, []).append(p)
        for hidden, inner in groups.items():
            fds = [os.open(p, os.O_PATH) for p in inner]
            mount("tmpfs", hidden, "tmpfs", 0, "mode=0755")
            for p, fd in zip(inner, fds, strict=True):
                os.makedirs(p, exist_ok=True)
                mount(f"/proc/self/fd/{fd}", p, None, 4096 | 16384)  # MS_BIND | MS_REC
                os.close(fd)

    def refuse_syscalls(arch: int, deny: list) -> None:
        # A seccomp filter (classic BPF over struct seccomp_data) that makes the listed syscalls,
        # any syscall of another ABI (i386 via int 0x80) and x32 numbers fail with EPERM.
        ld, jeq, jge, ret, refuse = 0x20, 0x15, 0x35, 0x06, 0x00050000 | 1  # SECCOMP_RET_ERRNO | EPERM
        n = len(deny)
        prog = [(ld, 0, 0, 4), (jeq, 1, 0, arch), (ret, 0, 0, refuse), (ld, 0, 0, 0), (jge, n + 1, 0, 0x40000000)]
        prog += [(jeq, n - i, 0, nr) for i, nr in enumerate(deny)]
        prog += [(ret, 0, 0, 0x7FFF0000), (ret, 0, 0, refuse)]  # SECCOMP_RET_ALLOW, refuse

        class Insn(ctypes.Structure):
            _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]

        class Prog(ctypes.Structure):
            _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(Insn))]

        fprog = Prog(len(prog), (Insn * len(prog))(*(Insn(*i) for i in prog)))
        check(libc.prctl(22, ul(2), ctypes.byref(fprog), ul(0), ul(0)), "PR_SET_SECCOMP")  # SECCOMP_MODE_FILTER

    if cfg["isolate"]:
        if cfg["uid"] is not None:
            expose([sys.prefix, sys.base_prefix, *sys.path, cfg["workdir"]])
        attr = (ctypes.c_uint64 * 4)(1 | 2, 0, 0, 0)  # MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID
        L = ctypes.c_long  # mount_setattr(AT_FDCWD, "/", AT_RECURSIVE, &attr, sizeof attr)
        check(libc.syscall(L(442), L(-100), b"/", L(0x8000), attr, L(32)), "mount_setattr")
        mount("tmpfs", cfg["workdir"], "tmpfs", 2 | 4, f"size={cfg['workdir_mb']}m,mode=1777")
        mount("tmpfs", "/proc", "tmpfs", 1 | 2 | 4 | 8, "size=4k,mode=0555")  # RDONLY|NOSUID|NODEV|NOEXEC
        os.chdir(cfg["workdir"])
    # Limits are set here, before any candidate code runs, rather than in preexec_fn, which is
    # unsafe in the threads run_many uses.
    for res, limits in cfg["rlimits"].items():
        resource.setrlimit(getattr(resource, res), tuple(limits))
    signal.signal(signal.SIGXCPU, on_cpu_limit)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # so asyncio.run does not try to set a handler
    if cfg["uid"] is not None:
        os.setgroups([])
        os.setgid(cfg["uid"])
        os.setuid(cfg["uid"])
    elif cfg["isolate"]:  # namespace root of a non-root host: drop every capability
        for cap in range(64):
            if libc.prctl(24, ul(cap), ul(0), ul(0), ul(0)) != 0:  # PR_CAPBSET_DROP
                break
        header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
        check(libc.capset(header, (ctypes.c_uint32 * 6)()), "capset")
    check(libc.prctl(38, ul(1), ul(0), ul(0), ul(0)), "PR_SET_NO_NEW_PRIVS")
    check(libc.prctl(4, ul(0), ul(0), ul(0), ul(0)), "PR_SET_DUMPABLE")  # no /proc/PID/mem for children
    if cfg["seccomp"]:
        refuse_syscalls(cfg["seccomp"]["arch"], cfg["seccomp"]["deny"])


def make_guard(token: str, out: int, harness_frame):
    """The audit hook: it alone holds the token, and writes it when ``harness_frame`` (and no
    other frame, nor a forked copy) raises PASS_EVENT. Its settings live in its closure."""
    refused, pass_event, write, exit_, getpid, pid0 = frozenset(REFUSED_EVENTS), PASS_EVENT, os.write, os._exit, os.getpid, os.getpid()
    getframe, realpath, fspath, fsdecode = sys._getframe, os.path.realpath, os.fspath, os.fsdecode

    def in_proc(path) -> bool:
        if isinstance(path, int):
            return False
        try:
            return realpath(fsdecode(fspath(path))).startswith("/proc")
        except (TypeError, ValueError):
            return True

    def guard(event: str, args: tuple) -> None:
        if event == pass_event and getframe(1) is harness_frame and getpid() == pid0:
            write(out, token.encode())
            exit_(0)
        if (
            event in refused
            or event.startswith(("ctypes.", "sys.monitoring."))
            or (event == "object.__setattr__" and args[1] == "__code__")
            or (event == "open" and in_proc(args[0]))
        ):
            raise PermissionError(f"{event} is refused in the sandbox")

    return guard


def pristine_import():
    """An ``__import__`` for the tests that serves TEST_MODULES as copies taken now."""
    real_import = builtins.__import__
    snapshots = {name: dict(vars(real_import(name))) for name in TEST_MODULES}

    def test_import(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0 and name in snapshots:
            copy = types.ModuleType(name)
            vars(copy).update(snapshots[name])
            return copy
        return real_import(name, globals, locals, fromlist, level)

    return test_import


def strict_helpers(line: list) -> dict:
    """The functions hardened asserts call, built fresh so candidate code holds no reference.

    Every comparison, arithmetic operation, truth test and nested call result inside an assert
    first requires its operands to be exact builtin data (int, float, complex, bool, str, bytes,
    None and list/tuple/set/frozenset/dict of them, checked recursively by identity of type),
    whose behaviour candidate code cannot patch. ``is`` needs no check.
    """
    leaf_types = (int, float, complex, bool, str, bytes, type(None))
    seq_types = (list, tuple, set, frozenset)
    compare = {
        "Eq": operator.eq, "NotEq": operator.ne, "Lt": operator.lt, "LtE": operator.le, "Gt": operator.gt,
        "GtE": operator.ge, "Is": operator.is_, "IsNot": operator.is_not,
        "In": lambda a, b: a in b, "NotIn": lambda a, b: a not in b,
    }
    arith = {
        "Add": operator.add, "Sub": operator.sub, "Mult": operator.mul, "Div": operator.truediv,
        "FloorDiv": operator.floordiv, "Mod": operator.mod, "Pow": operator.pow, "MatMult": operator.matmul,
        "LShift": operator.lshift, "RShift": operator.rshift, "BitOr": operator.or_, "BitXor": operator.xor,
        "BitAnd": operator.and_,
    }

    def is_one_of(t, types_) -> bool:  # identity, so a metaclass __eq__ cannot pass as int
        return any(t is x for x in types_)

    def plain(v, depth=0) -> bool:
        t = type(v)
        if is_one_of(t, leaf_types):
            return True
        if depth > 50:
            return False
        if is_one_of(t, seq_types):
            return all(plain(x, depth + 1) for x in v)
        return t is dict and all(plain(k, depth + 1) and plain(x, depth + 1) for k, x in v.items())

    def require_plain(*values) -> None:
        # Raising (not returning False) keeps a negation such as `not x != y` from passing.
        if not all(plain(v) for v in values):
            raise AssertionError("assert on a value that is not plain builtin data")

    def strict_cmp(ops, *values) -> bool:
        for op, a, b in zip(ops, values, values[1:], strict=False):
            if op not in ("Is", "IsNot"):
                require_plain(a, b)
            if not compare[op](a, b):
                return False
        return True

    def strict_arith(op, a, b):
        require_plain(a, b)
        return arith[op](a, b)

    def strict_truth(v) -> bool:
        require_plain(v)
        return bool(v)

    def strict_value(v):
        require_plain(v)
        return v

    def at(n: int) -> None:
        line[0] = n

    return {"__ht_cmp__": strict_cmp, "__ht_arith__": strict_arith, "__ht_truth__": strict_truth,
            "__ht_value__": strict_value, "__ht_at__": at}


def _call(name: str, args: list) -> ast.Call:
    return ast.Call(ast.Name(name, ast.Load()), args, [])


class InAssert(ast.NodeTransformer):
    """Routes an assert's comparisons, arithmetic, truth tests and nested call results through
    the strict helpers."""

    def visit_Compare(self, node):
        self.generic_visit(node)
        ops = ast.Tuple([ast.Constant(type(o).__name__) for o in node.ops], ast.Load())
        return _call("__ht_cmp__", [ops, node.left, *node.comparators])

    def visit_BinOp(self, node):
        self.generic_visit(node)
        return _call("__ht_arith__", [ast.Constant(type(node.op).__name__), node.left, node.right])

    def visit_BoolOp(self, node):
        self.generic_visit(node)
        node.values = [_call("__ht_truth__", [v]) for v in node.values]
        return node

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.Not):
            node.operand = _call("__ht_truth__", [node.operand])
        return node

    def visit_Call(self, node):  # math.isclose(candidate(x), y) must not hand over a fake float
        self.generic_visit(node)
        node.args = [_call("__ht_value__", [a]) if isinstance(a, ast.Call) else a for a in node.args]
        for kw in node.keywords:
            if isinstance(kw.value, ast.Call):
                kw.value = _call("__ht_value__", [kw.value])
        return node


class Harden(ast.NodeTransformer):
    """Hardens every assert and records each statement's line before it runs."""

    def visit_Assert(self, node):
        node.test = _call("__ht_truth__", [InAssert().visit(node.test)])
        return node

    def generic_visit(self, node):
        super().generic_visit(node)
        for field in ("body", "orelse", "finalbody"):
            stmts = getattr(node, field, None)
            if isinstance(stmts, list) and stmts and isinstance(stmts[0], ast.stmt):
                marked = []
                for stmt in stmts:
                    marked += [ast.Expr(_call("__ht_at__", [ast.Constant(stmt.lineno)])), stmt]
                setattr(node, field, marked)
        return node


if __name__ == "__main__":
    main()
