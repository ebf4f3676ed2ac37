"""The README's configuration reference is generated from the models and must stay in sync."""

from __future__ import annotations

from pathlib import Path

from phoenix.config_reference import DESCRIPTIONS, iter_fields, render_reference

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_config_key_is_documented() -> None:
    keys = [key for key, _ in iter_fields()]
    assert [k for k in keys if not DESCRIPTIONS.get(k)] == []
    assert [k for k in DESCRIPTIONS if k not in keys] == []


def test_readme_reference_is_current() -> None:
    text = README.read_text()
    start = text.index("<!-- config-reference:start -->\n") + len("<!-- config-reference:start -->\n")
    end = text.index("<!-- config-reference:end -->")
    assert text[start:end] == render_reference(), (
        "run: python -m phoenix.config_reference and paste into README"
    )


def test_readme_has_the_two_commands() -> None:
    text = README.read_text()
    assert "make run" in text and "make test" in text
