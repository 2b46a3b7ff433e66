"""The code sandbox: real subprocesses running real hostile programs, no mocks.

Every hostile program below defines a WRONG ``add`` next to its trick, so a pass can only come
from the trick. Where the host has working namespaces (probed by the sandbox) writes outside the
private working directory and network access are prevented outright; without them only the
in-process socket block and the uid/rlimits apply, and the tests that need namespaces skip.
"""

from __future__ import annotations

import os
import socket
import time
import uuid

import pytest

from hybridthink import sandbox
from hybridthink.sandbox import SandboxResult, run_many, run_tests

GOOD = "def add(a, b):\n    return a + b\n"
WRONG = "def add(a, b):\n    return a - b\n"
TESTS = "assert add(2, 3) == 5\nassert add(-1, 1) == 0\n"

needs_namespaces = pytest.mark.skipif(not sandbox._isolated(), reason="no working namespaces on this host")


def test_passing_code_passes():
    assert run_tests(GOOD, TESTS) == SandboxResult(True, "passed", "")


def test_wrong_code_fails_with_the_failing_line():
    result = run_tests(WRONG, TESTS)
    assert (result.passed, result.status) == (False, "failed")
    assert "AssertionError" in result.detail and "line 1" in result.detail


def test_syntax_error_is_an_error():
    assert run_tests("def add(a, b:\n", TESTS).status == "error"


def test_legitimate_assert_forms_pass():
    code = (
        "def f():\n    return [1, (2, 3), {'k': {4}}]\n"
        "def half():\n    return 0.5\n"
        "def nothing():\n    return None\n"
        "class Box:\n    pass\n"
    )
    tests = (
        "assert f() == [1, (2, 3), {'k': {4}}]\n"
        "assert f() != []\n"
        "assert abs(half() - 0.5) < 1e-9\n"
        "assert 0 < half() < 1\n"
        "assert nothing() is None\n"
        "assert Box() is not None\n"
        "assert 1 in f() and not (7 in f())\n"
        "assert sorted([3, 1]) == [1, 3]\n"
        "def check(candidate):\n    assert candidate() == 0.5\n"
        "check(half)\n"
    )
    assert run_tests(code, tests).passed


def test_candidate_can_use_its_working_directory_and_threads():
    code = GOOD + (
        "import threading\n"
        "open('scratch.txt', 'w').write('ok')\n"
        "threads = [threading.Thread(target=lambda: None) for _ in range(8)]\n"
        "for t in threads: t.start()\n"
        "for t in threads: t.join()\n"
    )
    assert run_tests(code, TESTS + "assert open('scratch.txt').read() == 'ok'\n").passed


TRICKS = {
    "sys_exit": "import sys\nsys.exit(0)\n",
    "os_exit": "import os\nos._exit(0)\n",
    "print_pass": "print('PASSED')\nprint('0123456789abcdef' * 2)\nprint('ok: all tests passed')\n",
    "forge_channel": "import os\nfor fd in range(64):\n    try:\n        os.write(fd, b'0123456789abcdef' * 2)\n"
    "    except OSError:\n        pass\n",
    "patch_builtins": "import builtins\nbuiltins.AssertionError = type('Nope', (Exception,), {})\n"
    "builtins.abs = lambda x: 0\nbuiltins.print = lambda *a, **k: None\n",
    "exit_in_atexit": "import atexit, os\natexit.register(lambda: os._exit(0))\n",
    # Only the original process may report: forked copies could otherwise each try an answer.
    "report_from_fork": "import os\ndef add(a, b):\n    pid = os.fork()\n    if pid == 0:\n        return a + b\n"
    "    os.waitpid(pid, 0)\n    os._exit(0)\n",
}


@pytest.mark.parametrize("trick", TRICKS, ids=list(TRICKS))
def test_tricks_do_not_pass_wrong_code(trick):
    assert not run_tests(WRONG + TRICKS[trick], TESTS, timeout_s=2).passed


ALWAYS_EQUAL = """
class Liar(int):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __lt__(self, other): return True
    def __bool__(self): return True
    def __sub__(self, other): return 0
    def __rsub__(self, other): return 0
    __hash__ = int.__hash__
def add(a, b):
    return Liar(0)
"""


@pytest.mark.parametrize(
    "check",
    [
        "assert add(2, 3) == 5",
        "assert 5 == add(2, 3)",
        "assert not add(2, 3) != 5",
        "assert add(2, 3) in [5]",
        "assert [add(2, 3)] == [5]",
        "assert abs(add(2, 3) - 5) < 1e-9",
        "assert add(2, 3)",
        "def check(candidate):\n    assert candidate(2, 3) == 5\ncheck(add)",
    ],
)
def test_always_equal_objects_fail(check):
    result = run_tests(ALWAYS_EQUAL, check + "\n")
    assert (result.passed, result.status) == (False, "failed")


def test_infinite_loop_times_out():
    start = time.monotonic()
    result = run_tests(GOOD + "while True:\n    pass\n", TESTS, timeout_s=1)
    assert (result.passed, result.status) == (False, "timeout")
    assert time.monotonic() - start < 1 + sandbox._STARTUP_GRACE_S + 1


def test_fork_bomb_is_contained_and_does_not_starve_a_concurrent_run():
    bomb = WRONG + "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    forker = (
        GOOD + "import os\nfor _ in range(4):\n    pid = os.fork()\n    if pid == 0:\n        os._exit(0)\n"
        "    os.waitpid(pid, 0)\n"
    )
    results = run_many([(bomb, TESTS), (forker, TESTS)], timeout_s=1)
    assert not results[0].passed
    assert results[1].passed, results[1]


def test_memory_bomb_is_refused():
    result = run_tests(GOOD + "hog = bytearray(4 << 30)\n", TESTS, memory_mb=256)
    assert (result.passed, result.status) == (False, "failed") and "MemoryError" in result.detail


def test_network_connection_to_host_fails():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.setblocking(False)
        port = server.getsockname()[1]
        code = GOOD + f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1).sendall(b'hi')\n"
        result = run_tests(code, TESTS)
        assert (result.passed, result.status) == (False, "failed")
        with pytest.raises(BlockingIOError):
            server.accept()


@needs_namespaces
def test_writes_outside_the_work_dir_are_prevented():
    target = f"/tmp/sandbox-escape-{uuid.uuid4().hex}"
    result = run_tests(GOOD + f"open({target!r}, 'w').write('x')\n", TESTS)
    assert (result.passed, result.status) == (False, "failed") and "Read-only" in result.detail
    assert not os.path.exists(target)


def test_huge_output_is_bounded():
    code = GOOD + "import sys\nfor _ in range(10**6):\n    sys.stdout.write('x' * 100_000)\n"
    start = time.monotonic()
    result = run_tests(code, TESTS, timeout_s=3)
    assert not result.passed and len(result.detail) <= sandbox.DETAIL_CHARS
    assert time.monotonic() - start < 5


@pytest.mark.skipif(not sandbox._isolated() and os.geteuid() != 0, reason="same-user signals need namespaces")
@pytest.mark.parametrize("target", ["os.getppid()", "-1", "1", "0"])
def test_killing_the_host_fails(target):
    result = run_tests(WRONG + f"import os, signal\nos.kill({target}, signal.SIGKILL)\n", TESTS)
    assert not result.passed  # and this test process is still alive to check it


def test_run_many_keeps_order():
    pairs = [(GOOD if i % 2 == 0 else WRONG, TESTS) for i in range(8)]
    assert [r.passed for r in run_many(pairs, max_workers=4)] == [i % 2 == 0 for i in range(8)]
    assert run_many([]) == []


def test_fallback_without_namespaces_still_guards_the_verdict():
    def plain(code: str) -> SandboxResult:
        return sandbox._execute(code, TESTS, timeout_s=2, memory_mb=512, isolate=False)

    assert plain(GOOD).passed
    assert not plain(WRONG).passed
    assert not plain(WRONG + TRICKS["sys_exit"]).passed
    assert not plain(ALWAYS_EQUAL).passed
    assert plain(GOOD + "import socket\nsocket.socket()\n").status == "failed"
