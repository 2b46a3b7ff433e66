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

Every run also gets a seccomp filter (x86_64 and aarch64) under which ``socket``, every way of
signalling or tracing another process (``kill``, ``tgkill``, ``ptrace``, ``process_vm_writev``,
``pidfd_send_signal``, ...) and ``io_uring`` fail with EPERM, even through ``ctypes``.

Without working namespaces (fallback, warned once) a run gets the rlimits, the private working
directory, the uid drop when root (after the run every process of that uid is killed) and the
seccomp filter (required: on other architectures the fallback refuses to run). Candidate code
can then still read and write wherever its uid may (e.g. ``/tmp``, or, on a non-root host, the
user's files) and, on a non-root host, leave a daemonised process behind.

Linux only: namespaced runs need ``unshare`` (util-linux) and kernel 5.12+ (mount_setattr).

The verdict cannot be forged: the harness (``sandbox_harness.py``) runs the candidate code in one
process and the tests in another, which holds the tests and a random per-run token and never runs
candidate code. Calls into the candidate cross a pipe and only plain builtin data comes back, so
exit codes, printed text, always-equal objects, patched builtins or modules, and frame or memory
tricks all stay on the candidate's side. The test process writes the token to a dedicated pipe
after the last test; only that counts as a pass.
"""

from __future__ import annotations

import collections
import json
import logging
import math
import os
import platform
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
from pathlib import Path

logger = logging.getLogger(__name__)

MAX_PROCS = 64  # RLIMIT_NPROC: tasks (processes and threads) a run may hold
MAX_FILE_BYTES = 8 << 20  # RLIMIT_FSIZE: largest file, captured output included
WORKDIR_MB = 64  # size of the private tmpfs working directory (namespaced runs)
DETAIL_CHARS = 500
_UID_BASE, _UID_SLOTS = 2_000_000_000, 512  # root hosts: uid = base + pid * slots + slot
_STARTUP_GRACE_S = 2.0  # wall-clock allowance for interpreter start, on top of timeout_s


@dataclass(frozen=True)
class SandboxResult:
    """Outcome of one run: ``passed`` is True only for a verified pass (status 'passed'); ``detail``
    holds the reason of a failure and the tail of what the run printed."""

    passed: bool
    status: str
    detail: str = ""


_HARNESS = str(Path(__file__).with_name("sandbox_harness.py"))
_PROBE = (
    "import collections, functools, heapq, itertools, json, math, re\ndef f(x):\n    return [math.isqrt(x)]\n",
    "assert f(16) == [4]\n",
)

# Syscalls no test needs and a candidate could turn against the host or the harness: socket,
# kill, tkill, tgkill, rt_sigqueueinfo, rt_tgsigqueueinfo, ptrace, process_vm_readv,
# process_vm_writev, pidfd_send_signal, io_uring_setup, pidfd_getfd, rt_sigaction (a Python
# signal handler receives the interrupted frame); with the AUDIT_ARCH value of each ABI.
_SECCOMP = {
    "x86_64": {"arch": 0xC000003E, "deny": [41, 62, 200, 234, 129, 297, 101, 310, 311, 424, 425, 438, 13]},
    "aarch64": {"arch": 0xC00000B7, "deny": [198, 129, 130, 131, 138, 240, 117, 270, 271, 424, 425, 438, 134]},
}.get(platform.machine())
_UNSHARE = shutil.which("unshare")
_uid_lock = threading.Lock()
_free_slots = collections.deque(range(_UID_SLOTS))  # FIFO: a released uid rests before reuse
_probe_lock = threading.Lock()


@contextmanager
def _run_uid(isolate: bool):
    """A uid no other concurrent run shares (root hosts only), else None. Without namespaces,
    whatever the run left behind under that uid (e.g. a daemonised child) is killed after it."""
    if os.geteuid() != 0:
        yield None
        return
    with _uid_lock:
        if not _free_slots:
            raise RuntimeError(f"more than {_UID_SLOTS} concurrent sandbox runs")
        slot = _free_slots.popleft()
    uid = _UID_BASE + os.getpid() * _UID_SLOTS + slot
    try:
        yield uid
    finally:
        if not isolate:  # kill(-1) as that uid reaches every process of the uid, wherever it went
            subprocess.run(["/bin/sh", "-c", "kill -9 -1"], user=uid, group=uid, extra_groups=[], check=False)
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
    if not isolate and _SECCOMP is None:
        return SandboxResult(False, "error", f"no seccomp filter for {platform.machine()}: namespaces are required")
    token, cpu_s = secrets.token_hex(16), math.ceil(timeout_s)
    workdir = tempfile.TemporaryDirectory(prefix="sandbox-", ignore_cleanup_errors=True)
    with _run_uid(isolate) as uid, workdir as work:
        if uid is not None:
            os.chown(work, uid, uid)
        setup = {
            "code": code,
            "isolate": isolate,
            "uid": uid,
            "seccomp": _SECCOMP,
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
        # The tests and the token travel in unlinked files: no path leads to them.
        with (
            tempfile.TemporaryFile(dir=work) as setup_file,
            tempfile.TemporaryFile(dir=work) as secret_file,
            tempfile.TemporaryFile(dir=work) as output,
        ):
            for file, content in ((setup_file, setup), (secret_file, {"tests": tests, "token": token})):
                file.write(json.dumps(content).encode())
                file.seek(0)
            fds = (setup_file.fileno(), secret_file.fileno(), write_end)
            try:
                proc = subprocess.Popen(
                    [*prefix, sys.executable, "-I", "-u", _HARNESS, *map(str, fds)],
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    pass_fds=fds,
                    cwd=work,
                    start_new_session=True,
                    env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": work, "TMPDIR": work},
                )
            except OSError as err:
                os.close(read_end)
                return SandboxResult(False, "error", f"cannot start sandbox: {err}")
            finally:
                os.close(write_end)
            setup_file.close()
            secret_file.close()
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
        return SandboxResult(True, "passed", tail)
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
                    "sandbox runs WITHOUT namespaces (%s): no filesystem isolation beyond the uid",
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


def run_program(code: str, **limits) -> SandboxResult:
    """Run a whole program in the sandbox (no tests): ``detail`` is the tail of what it printed
    (the last 500 characters), or why it failed."""
    return run_tests(code, "", **limits)


def run_many(pairs: list[tuple[str, str]], *, max_workers: int | None = None, **limits) -> list[SandboxResult]:
    """Run many ``(code, tests)`` pairs concurrently; results keep the input order.

    Identical pairs run once and share the result (a group of GRPO samples often repeats the same
    program). ``limits`` are passed to :func:`run_tests`; ``max_workers`` defaults to the CPU count.
    """
    if not pairs:
        return []
    _isolated()
    unique = list(dict.fromkeys(pairs))
    with ThreadPoolExecutor(max_workers=max_workers or os.cpu_count()) as pool:
        results = dict(zip(unique, pool.map(lambda pair: run_tests(*pair, **limits), unique), strict=True))
    return [results[pair] for pair in pairs]
