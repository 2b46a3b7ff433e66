"""Child side of the code sandbox: ``python -I sandbox_harness.py SETUP_FD SECRET_FD VERDICT_FD``.

It starts in a bare interpreter and imports nothing from this package. After locking itself
down it forks in two:

* the **candidate process** closes the secret and verdict descriptors before anything else, then
  runs the candidate code and serves calls into it. It never holds the tests or the pass token.
* the **test process** reads the tests and the token, and runs the tests against proxies of the
  candidate's top-level names. A call crosses a pipe; only plain builtin data (numbers, strings,
  bytes, None and lists, tuples, sets, dicts of them) comes back, everything else stays a handle
  that can be called, indexed or iterated but is never equal to anything but itself and has no
  truth value. No candidate code ever runs in the test process, so always-equal objects,
  patched builtins or modules, and frame or memory tricks cannot reach the tests or the token.
  After the last test it writes the token to VERDICT_FD.

Tests exchange data with the candidate by value: in-place changes the candidate makes to an
argument are not seen by the tests.
"""

import builtins
import contextlib
import ctypes
import importlib
import json
import os
import resource
import signal
import struct
import sys

MAX_MESSAGE_BYTES = 64 << 20
# Imported before the uid drop of a root host without namespaces, which cannot read them later.
PRELOAD = ("ast", "collections", "functools", "heapq", "itertools", "json", "math", "random", "re", "string",
           "typing", "bisect", "copy", "fractions", "decimal", "statistics", "threading", "subprocess",
           "socket", "glob", "time", "datetime", "hashlib", "operator", "dataclasses", "enum")


def main() -> None:
    """Lock down, fork the candidate process, run the tests, report the verdict."""
    setup_fd, secret_fd, out = (int(a) for a in sys.argv[1:4])
    with os.fdopen(setup_fd, "rb") as f:
        cfg = json.loads(f.read())
    os.set_inheritable(out, False)
    if hasattr(sys, "set_int_max_str_digits"):  # Python 3.11+: large ints cross as JSON digits
        sys.set_int_max_str_digits(0)

    def verdict(message: str) -> None:
        os.write(out, message.encode()[:2000])
        os._exit(0)

    for name in PRELOAD:
        importlib.import_module(name)
    try:
        lock_down(cfg)
    except OSError as err:
        verdict(f"error: sandbox setup failed: {err}")
    requests_read, requests_write = os.pipe()  # tests -> candidate
    replies_read, replies_write = os.pipe()  # candidate -> tests
    pid = os.fork()
    if pid == 0:
        for fd in (secret_fd, out, requests_write, replies_read):
            os.close(fd)
        serve_candidate(cfg["code"], requests_read, replies_write)
    for fd in (requests_read, replies_write):
        os.close(fd)
    with os.fdopen(secret_fd, "rb") as f:
        secret = json.loads(f.read())
    remote = Remote(requests_write, replies_read, pid)
    try:
        names = remote.namespace()
    except CandidateError as err:
        status = "error" if str(err).startswith("SyntaxError") else "failed"
        verdict(f"{status}: {err} in candidate code")
    except ValueError as err:
        verdict(f"failed: {err}")
    except CandidateGone as err:
        verdict(f"{err.status}: {err}")
    try:
        tests = compile(secret["tests"], "<tests>", "exec")
    except (SyntaxError, ValueError) as err:
        verdict(f"error: tests do not compile: {err}")
    try:
        exec(tests, {"__builtins__": builtins, "__name__": "tests", **names})
    except CandidateGone as err:
        verdict(f"{err.status}: {err}")
    except BaseException as err:  # SystemExit and friends are failures too
        tb, line = err.__traceback__, None
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == "<tests>":
                line = tb.tb_lineno
            tb = tb.tb_next
        where = f" at tests line {line}" if line else ""
        verdict(f"failed: {type(err).__name__}{where}: {str(err)[:200]}".rstrip(": "))
    verdict(secret["token"])


def lock_down(cfg: dict) -> None:
    """Namespaced mounts, rlimits, uid or capability drop, no_new_privs, non-dumpable, seccomp."""
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
    # Set before seccomp refuses sigaction: asyncio.run then leaves SIGINT alone.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
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
    check(libc.prctl(4, ul(0), ul(0), ul(0), ul(0)), "PR_SET_DUMPABLE")  # no /proc/PID/{mem,fd} for others
    if cfg["seccomp"]:
        refuse_syscalls(cfg["seccomp"]["arch"], cfg["seccomp"]["deny"])


# --- the wire: length-prefixed JSON of tagged plain data ---------------------------------------


def send(fd: int, message) -> None:
    data = json.dumps(message).encode()
    view = memoryview(struct.pack("<I", len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


def receive(fd: int):
    """One message, or None at end of file; a message over MAX_MESSAGE_BYTES raises ValueError."""
    size = read_exactly(fd, 4)
    if size is None:
        return None
    (n,) = struct.unpack("<I", size)
    if n > MAX_MESSAGE_BYTES:
        raise ValueError(f"message of {n} bytes from the candidate process")
    data = read_exactly(fd, n)
    return None if data is None else json.loads(data)


def read_exactly(fd: int, n: int):
    chunks, left = [], n
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def decode(v, handle):
    """Wire form -> plain builtin data; ``{"h": id}`` -> ``handle(id)``. Builds nothing else."""
    if v is None or type(v) in (bool, int, float, str):
        return v
    if type(v) is list:
        return [decode(x, handle) for x in v]
    (tag, body), = v.items()
    if tag == "h":
        return handle(int(body))
    if tag == "b":
        return body.encode("latin-1")
    if tag == "c":
        return complex(float(body[0]), float(body[1]))
    if tag not in ("d", "t", "s", "fs"):
        raise ValueError(f"unknown tag {tag!r} from the candidate process")
    items = [decode(x, handle) for x in body]
    if tag == "d":
        return {k: x for k, x in items}
    return {"t": tuple, "s": set, "fs": frozenset}[tag](items)


# --- the candidate process ----------------------------------------------------------------------


def serve_candidate(code: str, requests: int, replies: int) -> None:
    """Run the candidate code, describe its names, then answer calls until the tests end."""
    handles: list = []
    plain = ((bool, None), (int, None), (float, None), (str, None), (bytes, "b"), (complex, "c"),
             (tuple, "t"), (frozenset, "fs"), (set, "s"), (list, None), (dict, "d"))

    def encode(v, depth=0):
        # Builtin data (and its subclasses, converted to the base type) goes by value; anything
        # else, or anything nested too deep, becomes a handle.
        if v is None:
            return None
        base, tag = next(((b, t) for b, t in plain if isinstance(v, b)), (None, None))
        if base is None or depth > 100:
            handles.append(v)
            return {"h": len(handles) - 1}
        if base in (bool, int, float, str):
            return base(v)
        if base is bytes:
            return {"b": bytes(v).decode("latin-1")}
        if base is complex:
            return {"c": [v.real, v.imag]}
        if base is dict:
            return {"d": [[encode(k, depth + 1), encode(x, depth + 1)] for k, x in dict(v).items()]}
        items = [encode(x, depth + 1) for x in v]
        return items if base is list else {tag: items}

    def reply(work) -> None:  # work returns wire form
        try:
            message = ["ok", work()]
        except BaseException as err:
            builtin = next(c for c in type(err).__mro__ if getattr(builtins, c.__name__, None) is c)
            message = ["raise", builtin.__name__, f"{type(err).__name__}: {err}"[:500]]
        send(replies, message)

    module = type(sys)("solution")
    sys.modules["solution"] = module

    def run_code():
        exec(compile(code, "<candidate>", "exec"), vars(module))
        return {
            name: {"m": value.__name__} if isinstance(value, type(sys)) else encode(value)
            for name, value in vars(module).items()
            if not name.startswith("__")
        }

    reply(run_code)
    operations = {
        "call": lambda obj, args, kwargs: obj(*args, **kwargs),
        "getattr": getattr,
        "getitem": lambda obj, key: obj[key],
        "len": len,
        "list": list,
        "next": next,
    }
    while (request := receive(requests)) is not None:
        op, hid, *rest = request
        args = [decode(x, handles.__getitem__) for x in rest]
        reply(lambda: encode(operations[op](handles[hid], *args)))
    os._exit(0)


# --- the test process ---------------------------------------------------------------------------


class CandidateError(Exception):
    """The candidate code itself raised while being loaded."""


class CandidateGone(Exception):
    """The candidate process ended (CPU limit, os._exit, crash) before answering."""

    def __init__(self, message: str, status: str):
        super().__init__(message)
        self.status = status


class Remote:
    """The test process's side of the pipe to the candidate process."""

    def __init__(self, requests: int, replies: int, pid: int):
        self.requests, self.replies, self.pid = requests, replies, pid

    def namespace(self) -> dict:
        """The candidate's top-level names: modules imported here too, data copied, rest proxied."""
        status, *body = self.answer()
        if status != "ok":
            raise CandidateError(body[1])
        names = {}
        for name, v in body[0].items():
            if type(v) is dict and "m" in v:
                with contextlib.suppress(ImportError, ValueError):
                    names[name] = importlib.import_module(v["m"])
            else:
                names[name] = decode(v, self.proxy)
        return names

    def ask(self, op: str, hid: int, *args):
        send(self.requests, [op, hid, *(self.encode(a) for a in args)])
        status, *body = self.answer()
        if status == "ok":
            return decode(body[0], self.proxy)
        exc = getattr(builtins, body[0], None)
        if not (isinstance(exc, type) and issubclass(exc, Exception)):
            exc = RuntimeError
        raise exc(body[1])

    def answer(self):
        try:
            message = receive(self.replies)
        except ValueError as err:
            raise CandidateGone(str(err), "error") from None
        if message is None:
            _, status = os.waitpid(self.pid, 0)
            if os.WIFSIGNALED(status) and os.WTERMSIG(status) in (signal.SIGXCPU, signal.SIGKILL):
                raise CandidateGone("CPU time limit", "timeout")
            raise CandidateGone(f"the candidate process ended (wait status {status})", "failed")
        return message

    def encode(self, v):
        if isinstance(v, Proxy):
            return {"h": object.__getattribute__(v, "_hid")}
        if v is None or type(v) in (bool, int, float, str):
            return v
        if type(v) is list:
            return [self.encode(x) for x in v]
        if type(v) is dict:
            return {"d": [[self.encode(k), self.encode(x)] for k, x in v.items()]}
        tag = {tuple: "t", set: "s", frozenset: "fs", bytes: "b", complex: "c"}.get(type(v))
        if tag == "b":
            return {"b": v.decode("latin-1")}
        if tag == "c":
            return {"c": [v.real, v.imag]}
        if tag is None:
            raise TypeError(f"the tests passed a {type(v).__name__}, which cannot cross to the candidate")
        return {tag: [self.encode(x) for x in v]}

    def proxy(self, hid: int) -> "Proxy":
        p = Proxy.__new__(Proxy)
        object.__setattr__(p, "_remote", self)
        object.__setattr__(p, "_hid", hid)
        return p


class Proxy:
    """A candidate object that is not plain data: it can be called, indexed, measured and
    iterated (its items come back as data), but it has no truth value and equals only itself."""

    def _ask(self, op: str, *args):
        return object.__getattribute__(self, "_remote").ask(op, object.__getattribute__(self, "_hid"), *args)

    def __call__(self, *args, **kwargs):
        return self._ask("call", list(args), kwargs)

    def __getattr__(self, name: str):
        return self._ask("getattr", name)

    def __getitem__(self, key):
        return self._ask("getitem", key)

    def __len__(self) -> int:
        return self._ask("len")

    def __iter__(self):
        return iter(self._ask("list"))

    def __next__(self):
        return self._ask("next")

    def __bool__(self) -> bool:
        raise TypeError("a candidate object that is not plain data has no truth value in the tests")

    def __repr__(self) -> str:
        return f"<candidate object #{object.__getattribute__(self, '_hid')}>"


if __name__ == "__main__":
    main()
