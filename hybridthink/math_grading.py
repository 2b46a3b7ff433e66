"""math-verify parsing and equivalence, with a time bound in every thread.

math-verify bounds its work with ``signal.alarm``, which only works in the main thread (where
TRL's ``GRPOTrainer`` calls synchronous rewards). From any other thread the check runs in a
helper process (started once, on first use) whose main thread applies those bounds; if it does
not answer within the bound it is killed, restarted on the next call, and the answer counts as
not equal. Without this, a pathological answer such as ``9^{9^{9^9}}`` could run for minutes.
"""

from __future__ import annotations

import multiprocessing
import threading

from math_verify import parse, verify

TIMEOUT_S = 5  # per parse and per verify
_WORKER_START_S = 60.0
_worker_lock = threading.Lock()
_worker: tuple | None = None  # (process, connection)


def parse_math(text: str) -> list:
    """math-verify's parse of ``text``, boxed first when it has no box and no ``$`` delimiter.

    Unbounded outside the main thread: use it there only on trusted text (gold answers)."""
    if "\\boxed" not in text and "$" not in text.replace("\\$", ""):  # an escaped \$ is a dollar sign
        text = f"\\boxed{{{text}}}"
    return parse(text, parsing_timeout=_timeout())


def _timeout() -> int | None:
    return TIMEOUT_S if threading.current_thread() is threading.main_thread() else None


def _equal_here(gold_text: str, pred_text: str) -> bool:
    return verify(parse_math(gold_text), parse_math(pred_text), timeout_seconds=_timeout())


def _serve(conn) -> None:
    conn.send("ready")
    while True:
        gold_text, pred_text = conn.recv()
        conn.send(_equal_here(gold_text, pred_text))


def _start_worker() -> tuple:
    ctx = multiprocessing.get_context("spawn")  # fork is unsafe in a threaded trainer process
    parent, child = ctx.Pipe()
    process = ctx.Process(target=_serve, args=(child,), daemon=True)
    process.start()
    if not parent.poll(_WORKER_START_S):
        process.kill()
        raise RuntimeError("the math grading helper process did not start")
    parent.recv()
    return process, parent


def math_equal(gold_text: str, pred_text: str) -> bool:
    """Whether ``pred_text`` is mathematically equal to ``gold_text``, within 2 x TIMEOUT_S."""
    global _worker
    if threading.current_thread() is threading.main_thread():
        return _equal_here(gold_text, pred_text)
    with _worker_lock:
        if _worker is None or not _worker[0].is_alive():
            _worker = _start_worker()
        process, conn = _worker
        conn.send((gold_text, pred_text))
        if conn.poll(2 * TIMEOUT_S + 1):
            return conn.recv()
        process.kill()
        _worker = None
        return False
