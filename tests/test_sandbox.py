"""The code sandbox: real subprocesses running real programs, no mocks.

Every tricky program below defines a WRONG ``add`` next to its trick, so a pass can only come
from the trick. Hostile programs (bombs, escapes, attacks on the host) are in
``test_sandbox_hostile.py``; the host-unharmed checks live there.
"""

from __future__ import annotations

import time

import pytest

from hybridthink import sandbox
from hybridthink.sandbox import SandboxResult, run_many, run_tests

GOOD = "def add(a, b):\n    return a + b\n"
WRONG = "def add(a, b):\n    return a - b\n"
TESTS = "assert add(2, 3) == 5\nassert add(-1, 1) == 0\n"

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


def test_candidate_can_use_its_working_directory_threads_and_asyncio():
    code = GOOD + (
        "import asyncio\nasync def three():\n    return 3\nassert asyncio.run(three()) == 3\n"
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
    # Several processes answering one call: the tests still take exactly one answer per call.
    "answers_from_forked_copies": "import os\n_add = add\ndef add(a, b):\n    for guess in (a * b, a + b + 1):\n"
    "        if os.fork() == 0:\n            return guess\n    return _add(a, b)\n",
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


@pytest.mark.parametrize("isolate", [True, False], ids=["namespaces", "fallback"])
def test_signals_sockets_and_tracing_are_refused_even_through_raw_syscalls(isolate):
    if isolate and not sandbox._isolated():
        pytest.skip("no working namespaces on this host")
    code = GOOD + (
        "import ctypes, os, signal\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "calls = [libc.socket(2, 1, 0), libc.kill(os.getpid(), 0), libc.ptrace(16, os.getppid(), 0, 0)]\n"
        "refused = all(rc == -1 for rc in calls) and ctypes.get_errno() == 1\n"
        "try:\n    signal.signal(signal.SIGALRM, lambda *_: None)\nexcept OSError:\n    pass\n"
        "else:\n    refused = False\n"
    )
    assert sandbox._execute(code, TESTS + "assert refused\n", timeout_s=2, memory_mb=512, isolate=isolate).passed


def test_tests_see_candidate_objects_only_as_handles_and_data():
    code = (
        "class Counter:\n    def __init__(self, start):\n        self.n = start\n"
        "    def bump(self, k=1):\n        self.n += k\n        return self.n\n"
        "def evens(n):\n    yield from range(0, n, 2)\n"
        "def strict(x):\n    if x < 0:\n        raise ValueError('negative')\n    return (x, {x: [x]}, {x}, b'x')\n"
        "LIMIT = 3\n"
    )
    tests = (
        "c = Counter(5)\nassert c.bump() == 6 and c.bump(k=2) == 8 and c.n == 8\n"
        "assert list(evens(7)) == [0, 2, 4, 6] and 4 in evens(7)\n"
        "assert strict(2) == (2, {2: [2]}, {2}, b'x') and LIMIT == 3\n"
        "try:\n    strict(-1)\nexcept ValueError as err:\n    assert 'negative' in str(err)\nelse:\n    assert False\n"
        "assert c != c.bump and not (c == 8)\n"
        "try:\n    bool(c)\nexcept TypeError:\n    pass\nelse:\n    assert False, 'a handle has no truth value'\n"
    )
    assert run_tests(code, tests).passed


def test_run_many_keeps_order():
    pairs = [(GOOD if i % 2 == 0 else WRONG, TESTS) for i in range(8)]
    assert [r.passed for r in run_many(pairs, max_workers=4)] == [i % 2 == 0 for i in range(8)]
    assert run_many([]) == []


def test_run_many_runs_identical_pairs_once(monkeypatch):
    calls = []
    real = sandbox.run_tests
    monkeypatch.setattr(sandbox, "run_tests", lambda *pair, **limits: calls.append(pair) or real(*pair, **limits))
    good, bad = (GOOD, TESTS), (WRONG, TESTS)
    assert [r.passed for r in run_many([good, bad, good, good, bad])] == [True, False, True, True, False]
    assert sorted(calls) == sorted([good, bad])


def test_fallback_without_namespaces_still_guards_the_verdict():
    def plain(code: str) -> SandboxResult:
        return sandbox._execute(code, TESTS, timeout_s=2, memory_mb=512, isolate=False)

    assert plain(GOOD).passed
    assert not plain(WRONG).passed
    assert not plain(WRONG + TRICKS["sys_exit"]).passed
    assert not plain(ALWAYS_EQUAL).passed
    assert plain(GOOD + "import socket\nsocket.socket()\n").status == "failed"
