"""Hostile programs against the code sandbox: real subprocesses, no mocks.

Each program defines a WRONG ``add`` next to its attack, so a pass can only come from the attack.
Each runs in every sandbox mode this host offers (namespaces where they work; the fallback without
them always), and after each the host must be unharmed: our sentinel process alive, our sentinel
file intact, no file written outside the run, no connection to our listener, and the sandbox still
passing good code. A program lists the modes whose guarantees cover it; the fallback is weaker
(see ``hybridthink/sandbox.py``), and what it does not cover is left out of its runs here.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid

import pytest

from hybridthink import sandbox

GOOD = "def add(a, b):\n    return a + b\n"
WRONG = "def add(a, b):\n    return a - b\n"
TESTS = "assert add(2, 3) == 5\nassert add(-1, 1) == 0\nassert add(10, 10) == 20\n"
ALL = {"namespaces", "fallback-root", "fallback"}
UID_GUARDED = {"namespaces", "fallback-root"}  # needs namespaces or a root host's uid drop
STEAL_TOKEN = """
import os
def steal(frame):
    while frame is not None:
        token = frame.f_locals.get('token')
        if isinstance(token, str):
            for fd in range(3, 64):
                try:
                    os.write(fd, token.encode())
                except OSError:
                    pass
            os._exit(0)
        frame = frame.f_back
"""
SEARCH_FOR_TESTS = """
import glob, os, sys
def readable(path):
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            return os.read(fd, 1 << 20)
        finally:
            os.close(fd)
    except (OSError, ValueError):
        return b''
places = [' '.join(sys.argv).encode(), repr(os.environ).encode()]
parent = f'/proc/{{os.getppid()}}'
paths = glob.glob('*') + glob.glob('/proc/self/fd/*') + glob.glob(parent + '/fd/*')
places += [readable(p) for p in paths + [parent + '/cmdline', parent + '/environ', parent + '/mem']]
for fd in range(64):
    try:
        places.append(os.pread(fd, 1 << 20, 0))
    except OSError:
        pass
if any(b'add(10, 10)' in p for p in places):
    def add(a, b):
        return a + b
"""

# name: (program, tests (None = TESTS), modes whose guarantees cover it)
HOSTILE = {
    "fork_bomb": ("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n", None, ALL),
    "memory_bomb": ("hog = bytearray(8 << 30)\n", None, ALL),
    "memory_creep": ("hog = []\nwhile True:\n    hog.append(b' ' * 10**7)\n", None, ALL),
    "infinite_loop": ("while True:\n    pass\n", None, ALL),
    "spinning_threads": (
        "import threading\ndef spin():\n    while True:\n        pass\n"
        "for _ in range(8):\n    threading.Thread(target=spin).start()\nspin()\n",
        None,
        ALL,
    ),
    "sleep_forever": ("import time\ntime.sleep(10**6)\n", None, ALL),
    "ignore_cpu_limit": ("import signal\nsignal.signal(signal.SIGXCPU, signal.SIG_IGN)\nwhile True:\n    pass\n", None, ALL),
    "raise_own_limits": (
        "import resource\nfor r in (resource.RLIMIT_CPU, resource.RLIMIT_AS, resource.RLIMIT_NPROC):\n"
        "    try:\n        resource.setrlimit(r, (resource.RLIM_INFINITY,) * 2)\n    except (ValueError, OSError):\n"
        "        pass\nwhile True:\n    pass\n",
        None,
        ALL,
    ),
    "kill_parent": ("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n", None, ALL),
    "kill_everything": ("import os, signal\nos.kill(-1, signal.SIGKILL)\n", None, ALL),
    "kill_sentinel": ("import os, signal\nos.kill({pid}, signal.SIGKILL)\n", None, ALL),
    "kill_through_a_program": ("import subprocess\nsubprocess.run(['kill', '-9', '{pid}'])\n", None, ALL),
    "trace_sentinel": ("import ctypes\nctypes.CDLL(None).ptrace(16, {pid}, 0, 0)\n", None, ALL),
    "connect_to_host": ("import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1).sendall(b'x')\n", None, ALL),
    "connect_from_a_child_interpreter": (
        "import subprocess, sys\nsubprocess.run([sys.executable, '-c', "
        "\"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=1)\"])\n",
        None,
        ALL,
    ),
    "write_outside": ("open('{escape}', 'w').write('x')\n", None, {"namespaces"}),
    "fill_the_disk": (
        "import itertools\nfor i in itertools.count():\n    open(f'fill{{i}}', 'wb').write(b' ' * ((8 << 20) - 1))\n",
        None,
        {"namespaces"},
    ),
    "overwrite_host_file": ("open('{keep}', 'w').write('pwned')\n", None, UID_GUARDED),
    "delete_host_file": ("import os\nos.remove('{keep}')\n", None, UID_GUARDED),
    "outlive_the_run": (
        "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(1.5)\n"
        "        open('{escape}', 'w').write('x')\n    os._exit(0)\n",
        None,
        UID_GUARDED,
    ),
    "huge_output": ("import sys\nfor _ in range(10**6):\n    sys.stdout.write('x' * 100_000)\n", None, ALL),
    "read_the_tests": (SEARCH_FOR_TESTS, None, ALL),
    "read_own_memory": (
        "data = open('/proc/self/mem', 'rb')\n",
        None,
        ALL,
    ),
    "steal_token_from_frames": (STEAL_TOKEN + "import sys\ndef add(a, b):\n    steal(sys._getframe())\n", None, ALL),
    "steal_token_from_a_traceback": (
        STEAL_TOKEN + "def add(a, b):\n    try:\n        raise ValueError\n    except ValueError as e:\n"
        "        steal(e.__traceback__.tb_frame)\n",
        None,
        ALL,
    ),
    "steal_token_in_a_signal_handler": (
        STEAL_TOKEN + "import signal, time\nsignal.signal(signal.SIGALRM, lambda s, f: steal(f))\n"
        "signal.setitimer(signal.ITIMER_REAL, 0.01)\ndef add(a, b):\n    time.sleep(1)\n",
        None,
        ALL,
    ),
    "steal_token_with_a_tracer": (
        STEAL_TOKEN + "import sys\nsys.settrace(lambda f, e, a: steal(f))\n", None, ALL
    ),
    "steal_token_from_the_gc": (
        "import gc, os\nfor o in gc.get_objects():\n    for c in getattr(o, '__closure__', None) or ():\n"
        "        v = c.cell_contents\n        if isinstance(v, str) and len(v) == 32:\n"
        "            for fd in range(3, 64):\n                try:\n                    os.write(fd, v.encode())\n"
        "                except OSError:\n                    pass\n",
        None,
        ALL,
    ),
    "patch_the_test_globals": (
        "def add(a, b):\n    globals()['__ht_cmp__'] = lambda *x: True\n    globals()['__ht_truth__'] = bool\n    return 5\n",
        None,
        ALL,
    ),
    "patch_builtins": ("import builtins\nbuiltins.sorted = lambda x: [1, 2, 3]\n", "assert sorted(add(3, 1)) == [1, 2, 3]\n", ALL),
    "patch_a_module": (
        "import math\nmath.isclose = lambda *a, **k: True\n",
        "import math\nassert math.isclose(add(2, 3), 5)\n",
        ALL,
    ),
    "metaclass_claims_to_be_int": (
        "class Meta(type):\n    def __eq__(cls, other):\n        return True\n    __hash__ = type.__hash__\n"
        "class Liar(metaclass=Meta):\n    def __eq__(self, other):\n        return True\n"
        "def add(a, b):\n    return Liar()\n",
        None,
        ALL,
    ),
    "fake_float_through_a_call": (
        "class Five:\n    def __float__(self):\n        return 5.0\ndef add(a, b):\n    return Five()\n",
        "import math\nassert math.isclose(add(2, 2), 5.0)\n",
        ALL,
    ),
}


def available_modes() -> list[str]:
    fallback = "fallback-root" if os.geteuid() == 0 else "fallback"
    return (["namespaces"] if sandbox._isolated() else []) + [fallback]


CASES = [(name, mode) for name in HOSTILE for mode in available_modes() if mode in HOSTILE[name][2]]


def test_the_suite_is_large_enough():
    assert len(HOSTILE) >= 20


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    """What the programs attack: a sentinel process, a sentinel file and a listening socket."""
    sentinel = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    keep = tmp_path_factory.mktemp("host") / "keep.txt"
    keep.write_text("intact")
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        yield {"sentinel": sentinel, "keep": keep, "listener": listener}
    sentinel.kill()
    sentinel.wait()


@pytest.mark.parametrize(("name", "mode"), CASES, ids=[f"{n}-{m}" for n, m in CASES])
def test_hostile_program_is_contained_and_the_host_unharmed(host, name, mode):
    program, tests, _ = HOSTILE[name]
    escape = f"/tmp/hostile-{uuid.uuid4().hex}"
    values = {"pid": host["sentinel"].pid, "port": host["listener"].getsockname()[1], "keep": host["keep"], "escape": escape}
    code = WRONG + program.format(**values)
    result = sandbox._execute(code, tests or TESTS, timeout_s=1, memory_mb=512, isolate=mode == "namespaces")

    assert not result.passed, result
    if name == "outlive_the_run":
        time.sleep(2.5)  # give a surviving process time to act
    assert host["sentinel"].poll() is None, "the sentinel process was killed"
    assert host["keep"].read_text() == "intact"
    assert not os.path.exists(escape)
    with pytest.raises(BlockingIOError):
        host["listener"].accept()
    assert sandbox._execute(GOOD, TESTS, timeout_s=2, memory_mb=512, isolate=mode == "namespaces").passed
