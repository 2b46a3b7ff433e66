"""Tools a model may call: a calculator and a Python interpreter in the code sandbox.

Each is a plain function with type hints and a Google-style docstring, from which transformers
builds the JSON schema that the chat template shows the model; TRL's ``GRPOTrainer(tools=...)``
calls them during rollouts and ``hybridthink.tool_episodes`` during evaluation. A tool never
raises: an error comes back as text, as a real tool would answer.
"""

from __future__ import annotations

from simpleeval import SimpleEval

from .sandbox import run_program

_EVALUATOR = SimpleEval(functions={}, names={})  # numbers and operators only: no names, no calls


def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression, such as "482 * 937" or "(12 + 7) / 4".

    Args:
        expression: Numbers combined with + - * / // % ** and parentheses.
    """
    try:
        return str(_EVALUATOR.eval(expression))
    except Exception as err:  # noqa: BLE001 - any failure is the tool's answer
        return f"error: {type(err).__name__}: {err}"


def python(code: str) -> str:
    """Run a Python program in a sandbox and return what it prints.

    Args:
        code: A complete Python program; print() the results you need.
    """
    result = run_program(code)
    return result.detail if result.passed else f"{result.status}: {result.detail}"


TOOLS = {"calculator": calculator, "python": python}


def get_tools(names: list[str]) -> list:
    """Look tools up by name (unknown names raise ValueError)."""
    unknown = [n for n in names if n not in TOOLS]
    if unknown:
        raise ValueError(f"unknown tool(s) {unknown}; known: {sorted(TOOLS)}")
    return [TOOLS[n] for n in names]


def environment(names: list[str]) -> type:
    """A TRL environment class (``GRPOTrainer(environment_factory={...: cls})``) whose methods are
    the named tools; with no names, a plain environment whose prompts offer no tools."""
    attrs = {"reset": lambda self, **fields: None, **{t.__name__: staticmethod(t) for t in get_tools(names)}}
    return type("Tools_" + "_".join(names) if names else "NoTools", (), attrs)
