"""The report formats of ``check``: one registry, name -> the function that writes the whole
report in it (as check-jsonschema's ``REPORTER_BY_NAME``). The command line reads the names
without importing the checks: each writer imports its module (one per format: ``text``,
``json_report``, ``sarif``, ``github``, ``junit``, ``gitlab``) when it runs; what they share
(colours, the summary line) is ``common``'s."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from capa_accounts.core.record import Record

if TYPE_CHECKING:
    from capa_accounts.hooks.check.engine import Report


class Options(Record):
    """How a report is written, beyond its format."""

    FIELDS = ("strict", "color")
    strict: bool  # warnings fail the check too (JUnit marks them failures)
    color: bool  # the text report in ANSI colours

    def __init__(self, strict: bool = False, color: bool = False) -> None:
        set_ = object.__setattr__
        set_(self, "strict", strict)
        set_(self, "color", color)


def _text(report: Report, options: Options) -> str:
    from capa_accounts.hooks.report import text

    return text.text(report, color=options.color)


def _json(report: Report, options: Options) -> str:
    from capa_accounts.hooks.report import json_report

    return json_report.as_json(report)


def _sarif(report: Report, options: Options) -> str:
    from capa_accounts.hooks.report import sarif

    return sarif.render(report)


def _github(report: Report, options: Options) -> str:
    from capa_accounts.hooks.report import github

    return github.github_capped(report)


def _junit(report: Report, options: Options) -> str:
    from capa_accounts.hooks.report import junit

    return junit.junit(report, strict=options.strict)


def _gitlab(report: Report, options: Options) -> str:
    from capa_accounts.hooks.report import gitlab

    return gitlab.gitlab(report)


REPORTER_BY_NAME: dict[str, Callable[[Report, Options], str]] = {
    "text": _text,
    "json": _json,
    "sarif": _sarif,
    "github": _github,
    "junit": _junit,
    "gitlab": _gitlab,
}
FORMATS = tuple(REPORTER_BY_NAME)
# What ``capa-accounts rules`` prints (``catalogue.py``).
CATALOGUE_FORMATS = ("text", "json")


def render(report: Report, fmt: str, *, strict: bool = False, color: bool = False) -> str:
    """The whole report in ``fmt`` (one of ``FORMATS``), as ``check`` writes it."""
    try:
        writer = REPORTER_BY_NAME[fmt]
    except KeyError:
        raise ValueError(f"unknown report format {fmt!r}") from None
    return writer(report, Options(strict=strict, color=color))
