"""Data Docs pages render from templates compiled once per process (quality/docs_templates.py)."""

from __future__ import annotations

from typing import Any

import pytest
from jinja2 import Environment

from quality.docs_templates import share_compiled_templates


def test_a_second_data_docs_view_reuses_the_first_views_compiled_templates(monkeypatch: pytest.MonkeyPatch) -> None:
    share_compiled_templates()
    share_compiled_templates()  # idempotent: one cache, one patch
    from great_expectations.render.view.view import DefaultJinjaView

    first, second = DefaultJinjaView(), DefaultJinjaView()
    assert first.env is not second.env  # GX's own behaviour: a new environment per view
    assert first.env.bytecode_cache is second.env.bytecode_cache is not None
    template = "page.j2"
    first.env.get_template(template)
    compiled: list[Any] = []

    def counting_compile(*args: Any, **kwargs: Any) -> Any:
        compiled.append(args)
        return Environment.compile(second.env, *args, **kwargs)

    monkeypatch.setattr(second.env, "compile", counting_compile)
    loaded = second.env.get_template(template)
    assert compiled == []  # its code came from the shared cache
    assert loaded.name == template
