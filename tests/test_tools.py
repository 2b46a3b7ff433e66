"""The calculator and the sandboxed Python tool, as a model would call them."""

import pytest
from transformers.utils import get_json_schema

from hybridthink.tools import calculator, get_tools, python


def test_calculator_does_large_products_and_refuses_everything_else():
    assert calculator("482 * 937") == "451634"
    assert calculator("(12 + 7) / 4") == "4.75"
    for attack in ("__import__('os').system('id')", "open('/etc/passwd').read()", "x + 1", "1 +"):
        assert calculator(attack).startswith("error: "), attack


def test_python_tool_returns_what_the_program_prints_from_the_sandbox():
    assert python("print(sum(range(10)))\nprint('done')") == "45\ndone"
    assert python("print(1 / 0)").startswith("failed: ZeroDivisionError")
    assert python("import socket\nsocket.socket()").startswith("failed: ")


def test_tools_have_schemas_and_are_looked_up_by_name():
    schema = get_json_schema(calculator)["function"]
    assert schema["name"] == "calculator" and schema["parameters"]["required"] == ["expression"]
    assert get_json_schema(python)["function"]["parameters"]["properties"]["code"]["type"] == "string"
    assert get_tools(["python", "calculator"]) == [python, calculator]
    with pytest.raises(ValueError, match="'search'"):
        get_tools(["search"])
