"""Local sandbox that runs untrusted Python code against assert-style tests.

Hand-written: no maintained library runs untrusted Python tests offline with these guarantees.

Each run is a fresh ``python -I`` subprocess with a minimal environment, a private temporary
working directory, resource limits, a wall-clock timeout that kills its whole process group, and
bounded captured output. Where ``unshare`` works (probed once per process) the run also gets fresh
network, mount and PID namespaces:

* network: only a downed loopback exists, so every connection fails;
* filesystem: every mount is read-only and nosuid; the working directory is a private tmpfs;
* processes: the candidate cannot address host processes by pid (at most its own run's
  ``unshare`` wrapper, through its process group, which only ends the run), and the whole
  namespace dies with the run.

When the host runs as root, the candidate runs under a dedicated unprivileged uid (one per
concurrent run), which makes ``RLIMIT_NPROC`` bite (root ignores it) and removes every capability.
A host running as non-root instead drops all capabilities inside its user namespace.

Without working namespaces (fallback, warned once) a run gets only the rlimits, the private
working directory, the uid drop when root, and an in-process block of ``socket``. Candidate code
can then still write wherever its uid may (e.g. ``/tmp``), open sockets through ``ctypes``, and
as non-root signal the host's processes of the same user.

Linux only: namespaced runs need ``unshare`` (util-linux) and kernel 5.12+ (mount_setattr).

A pass is reported only through a channel the candidate cannot forge by generic means: a random
per-run token is read from an unlinked file descriptor, and the harness writes it to a dedicated
pipe after every test ran in the original process. Exit codes and printed output never count.
Test asserts are rewritten so that comparisons, arithmetic and truth tests only succeed on exact
builtin data (see ``_harness``), which defeats always-equal objects. Out of scope: a candidate
written against this very harness (walking interpreter frames to steal the token).
"""

from __future__ import annotations

import inspect
import json
import logging
import math
import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import cache

logger = logging.getLogger(__name__)

MAX_PROCS = 64  # RLIMIT_NPROC: tasks (processes and threads) a run may hold
MAX_FILE_BYTES = 8 << 20  # RLIMIT_FSIZE: largest file, captured output included
WORKDIR_MB = 64  # size of the private tmpfs working directory (namespaced runs)
DETAIL_CHARS = 500
_UID_BASE, _UID_SLOTS = 2_000_000_000, 512  # root hosts: uid = base + pid * slots + slot
_STARTUP_GRACE_S = 2.0  # wall-clock allowance for interpreter start, on top of timeout_s


@dataclass(frozen=True)
class SandboxResult:
    """Outcome of one run: ``passed`` is True only for a verified pass (status 'passed')."""

    passed: bool
    status: str
    detail: str = ""


def _harness() -> None:  # runs in the child as `python -I -c`, so it must be self-contained
    """Child side: lock down, run candidate code then hardened tests, report the verdict."""
    import ast
    import ctypes
    import json
    import operator
    import os
    import resource
    import signal
    import sys
    import types

    write, exit_, getpid, pid0 = os.write, os._exit, os.getpid, os.getpid()
    with os.fdopen(int(sys.argv[1]), "rb") as f:
        cfg = json.loads(f.read())
    out, token = int(sys.argv[2]), cfg.pop("token")

    def verdict(message: str) -> None:
        # Copies forked by candidate code would otherwise let it try several answers in parallel.
        if getpid() == pid0:
            write(out, message.encode()[:2000])
        exit_(0)

    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]

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

    try:
        if cfg["isolate"]:
            if cfg["uid"] is not None:
                expose([sys.prefix, sys.base_prefix, *sys.path, cfg["workdir"]])
            attr = (ctypes.c_uint64 * 4)(1 | 2, 0, 0, 0)  # MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID
            L = ctypes.c_long  # mount_setattr(AT_FDCWD, "/", AT_RECURSIVE, &attr, sizeof attr)
            check(libc.syscall(L(442), L(-100), b"/", L(0x8000), attr, L(32)), "mount_setattr")
            mount("tmpfs", cfg["workdir"], "tmpfs", 2 | 4, f"size={cfg['workdir_mb']}m,mode=1777")
            os.chdir(cfg["workdir"])
        else:
            import _socket
            import socket

            def no_network(*args, **kwargs):
                raise OSError("network access is disabled in the sandbox")

            for mod in (socket, _socket):
                mod.socket = no_network
            socket.create_connection = socket.socketpair = socket.fromfd = no_network
        # Limits are set here, before any candidate code runs, rather than in preexec_fn, which
        # is unsafe in the threads run_many uses.
        for res, limits in cfg["rlimits"].items():
            resource.setrlimit(getattr(resource, res), tuple(limits))
        signal.signal(signal.SIGXCPU, lambda *_: verdict("timeout: CPU time limit"))
        if cfg["uid"] is not None:
            os.setgroups([])
            os.setgid(cfg["uid"])
            os.setuid(cfg["uid"])
        elif cfg["isolate"]:  # namespace root of a non-root host: drop every capability
            ul = ctypes.c_ulong
            for cap in range(64):
                if libc.prctl(24, ul(cap), ul(0), ul(0), ul(0)) != 0:  # PR_CAPBSET_DROP
                    break
            header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
            check(libc.capset(header, (ctypes.c_uint32 * 6)()), "capset")
        check(
            libc.prctl(38, ctypes.c_ulong(1), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0)),
            "PR_SET_NO_NEW_PRIVS",
        )
    except OSError as err:
        verdict(f"error: sandbox setup failed: {err}")

    # Asserts are rewritten so candidate objects cannot lie: every comparison, arithmetic
    # operation and truth test inside an assert first requires its operands to be exact builtin
    # data (int, float, complex, bool, str, bytes, None and list/tuple/set/frozenset/dict of
    # them, checked recursively), whose behaviour candidate code cannot patch. `is` needs no
    # check. Values passed through other calls (e.g. math.isclose, all) are not inspected.
    leaf_types = {int, float, complex, bool, str, bytes, type(None)}
    seq_types = {list, tuple, set, frozenset}

    def plain(v, depth=0) -> bool:
        t = type(v)
        if t in leaf_types:
            return True
        if depth > 50:
            return False
        if t in seq_types:
            return all(plain(x, depth + 1) for x in v)
        return t is dict and all(plain(k, depth + 1) and plain(x, depth + 1) for k, x in v.items())

    compare = {
        "Eq": operator.eq,
        "NotEq": operator.ne,
        "Lt": operator.lt,
        "LtE": operator.le,
        "Gt": operator.gt,
        "GtE": operator.ge,
        "Is": operator.is_,
        "IsNot": operator.is_not,
        "In": lambda a, b: a in b,
        "NotIn": lambda a, b: a not in b,
    }
    arith = {
        "Add": operator.add,
        "Sub": operator.sub,
        "Mult": operator.mul,
        "Div": operator.truediv,
        "FloorDiv": operator.floordiv,
        "Mod": operator.mod,
        "Pow": operator.pow,
        "MatMult": operator.matmul,
        "LShift": operator.lshift,
        "RShift": operator.rshift,
        "BitOr": operator.or_,
        "BitXor": operator.xor,
        "BitAnd": operator.and_,
    }

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

    def call(name, args):
        return ast.Call(ast.Name(name, ast.Load()), args, [])

    class InAssert(ast.NodeTransformer):
        def visit_Compare(self, node):
            self.generic_visit(node)
            ops = ast.Tuple([ast.Constant(type(o).__name__) for o in node.ops], ast.Load())
            return call("__ht_cmp__", [ops, node.left, *node.comparators])

        def visit_BinOp(self, node):
            self.generic_visit(node)
            return call("__ht_arith__", [ast.Constant(type(node.op).__name__), node.left, node.right])

        def visit_BoolOp(self, node):
            self.generic_visit(node)
            node.values = [call("__ht_truth__", [v]) for v in node.values]
            return node

        def visit_UnaryOp(self, node):
            self.generic_visit(node)
            if isinstance(node.op, ast.Not):
                node.operand = call("__ht_truth__", [node.operand])
            return node

    class Harden(ast.NodeTransformer):
        def visit_Assert(self, node):
            node.test = call("__ht_truth__", [InAssert().visit(node.test)])
            return node

    try:
        code = compile(cfg["code"], "<candidate>", "exec")
        tests = compile(ast.fix_missing_locations(Harden().visit(ast.parse(cfg["tests"]))), "<tests>", "exec")
    except (SyntaxError, ValueError) as err:
        verdict(f"error: does not compile: {err}")

    module = types.ModuleType("solution")
    sys.modules["solution"] = module
    stage = "candidate code"
    try:
        exec(code, module.__dict__)
        stage = "tests"
        module.__dict__.update(__ht_cmp__=strict_cmp, __ht_arith__=strict_arith, __ht_truth__=strict_truth)
        exec(tests, module.__dict__)
    except BaseException as err:  # SystemExit and friends are failures too
        tb, line = err.__traceback__, None
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == "<tests>":
                line = tb.tb_lineno
            tb = tb.tb_next
        where = f" at tests line {line}" if line else ""
        message = str(err)[:200]
        verdict(f"failed: {type(err).__name__} in {stage}{where}{': ' + message if message else ''}")
    verdict(token)


_HARNESS = inspect.getsource(_harness) + "\n_harness()\n"
_PROBE = (
    "import collections, functools, heapq, itertools, json, math, re\ndef f(x):\n    return [math.isqrt(x)]\n",
    "assert f(16) == [4]\n",
)

_UNSHARE = shutil.which("unshare")
_uid_lock = threading.Lock()
_free_slots = list(range(_UID_SLOTS))
_probe_lock = threading.Lock()


@contextmanager
def _run_uid():
    """A uid no other concurrent run shares (root hosts only), else None."""
    if os.geteuid() != 0:
        yield None
        return
    with _uid_lock:
        if not _free_slots:
            raise RuntimeError(f"more than {_UID_SLOTS} concurrent sandbox runs")
        slot = _free_slots.pop()
    try:
        yield _UID_BASE + os.getpid() * _UID_SLOTS + slot
    finally:
        with _uid_lock:
            _free_slots.append(slot)


@contextmanager
def _pidfd(pid: int):
    fd = os.pidfd_open(pid)
    try:
        yield fd
    finally:
        os.close(fd)


def _execute(code: str, tests: str, timeout_s: float, memory_mb: int, isolate: bool) -> SandboxResult:
    token, cpu_s = secrets.token_hex(16), math.ceil(timeout_s)
    workdir = tempfile.TemporaryDirectory(prefix="sandbox-", ignore_cleanup_errors=True)
    with _run_uid() as uid, workdir as work:
        if uid is not None:
            os.chown(work, uid, uid)
        cfg = {
            "token": token,
            "code": code,
            "tests": tests,
            "isolate": isolate,
            "uid": uid,
            "workdir": work,
            "workdir_mb": WORKDIR_MB,
            "rlimits": {
                "RLIMIT_CPU": (cpu_s, cpu_s + 1),
                "RLIMIT_AS": (memory_mb << 20,) * 2,
                "RLIMIT_FSIZE": (MAX_FILE_BYTES,) * 2,
                "RLIMIT_NPROC": (MAX_PROCS,) * 2,
                "RLIMIT_CORE": (0, 0),
            },
        }
        prefix = []
        if isolate:
            prefix = [_UNSHARE, "--net", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc"]
            if os.geteuid() != 0:
                prefix.insert(1, "--map-root-user")
        read_end, write_end = os.pipe()
        # The token travels in an unlinked file: no path leads to it once the harness closed it.
        with tempfile.TemporaryFile(dir=work) as payload, tempfile.TemporaryFile(dir=work) as output:
            payload.write(json.dumps(cfg).encode())
            payload.seek(0)
            try:
                proc = subprocess.Popen(
                    [*prefix, sys.executable, "-I", "-u", "-c", _HARNESS, str(payload.fileno()), str(write_end)],
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    pass_fds=(payload.fileno(), write_end),
                    cwd=work,
                    start_new_session=True,
                    env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": work, "TMPDIR": work},
                )
            except OSError as err:
                os.close(read_end)
                return SandboxResult(False, "error", f"cannot start sandbox: {err}")
            finally:
                os.close(write_end)
            payload.close()
            start = time.monotonic()
            # Popen.wait(timeout) polls with sleeps of up to 50 ms; a pidfd wakes up at exit.
            with _pidfd(proc.pid) as exited:
                timed_out = not select.select([exited], [], [], timeout_s + _STARTUP_GRACE_S)[0]
            with suppress(ProcessLookupError):  # also reaps what the candidate left in its group
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            elapsed = time.monotonic() - start
            os.set_blocking(read_end, False)
            try:
                message = os.read(read_end, 4096)
            except BlockingIOError:
                message = b""
            os.close(read_end)
            size = output.seek(0, os.SEEK_END)
            output.seek(max(0, size - DETAIL_CHARS))
            tail = output.read().decode(errors="replace").strip()
    if message == token.encode():
        return SandboxResult(True, "passed")
    text = message.decode(errors="replace")
    # A run killed at its CPU hard limit (the harness missed SIGXCPU) leaves no verdict.
    if timed_out or text.startswith("timeout:") or (not text and elapsed >= timeout_s):
        return SandboxResult(False, "timeout", f"exceeded {timeout_s:g}s")
    status = "failed" if text.startswith("failed:") else "error"
    if status == "error" and not text.startswith("error:"):
        text = f"no verdict (exit status {proc.returncode})"
    detail = text.removeprefix(f"{status}:").strip() + (f" | output: {tail}" if tail else "")
    return SandboxResult(False, status, detail[:DETAIL_CHARS])


@cache
def _probe() -> bool:
    errors = []
    for isolate in (True, False):
        if isolate and _UNSHARE is None:
            errors.append("namespaces: unshare not found")
            continue
        result = _execute(*_PROBE, timeout_s=10.0, memory_mb=512, isolate=isolate)
        if result.passed:
            if not isolate:
                logger.warning(
                    "sandbox runs WITHOUT namespaces (%s): no filesystem isolation, network blocked only in-process",
                    errors[0],
                )
            return isolate
        errors.append(f"{'namespaces' if isolate else 'plain'}: {result.status} {result.detail}")
    raise RuntimeError(f"the code sandbox cannot run Python here: {'; '.join(errors)}")


def _isolated() -> bool:
    """Whether runs get fresh namespaces (probed once per process)."""
    with _probe_lock:
        return _probe()


def run_tests(code: str, tests: str, *, timeout_s: float = 5.0, memory_mb: int = 512) -> SandboxResult:
    """Run ``code`` then the assert-based ``tests`` in one fresh sandboxed interpreter.

    ``timeout_s`` bounds CPU time (plus a short start-up grace in wall-clock time) and
    ``memory_mb`` the address space. Returns a verified pass, a failure, a timeout or an error.
    """
    return _execute(code, tests, timeout_s, memory_mb, _isolated())


def run_many(pairs: list[tuple[str, str]], *, max_workers: int | None = None, **limits) -> list[SandboxResult]:
    """Run many ``(code, tests)`` pairs concurrently; results keep the input order.

    ``limits`` are passed to :func:`run_tests`; ``max_workers`` defaults to the CPU count.
    """
    if not pairs:
        return []
    _isolated()
    with ThreadPoolExecutor(max_workers=max_workers or os.cpu_count()) as pool:
        return list(pool.map(lambda pair: run_tests(*pair, **limits), pairs))
