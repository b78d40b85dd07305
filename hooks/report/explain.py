"""``explain``: a rule's documentation for the terminal.

It comes from the registry (``capa_accounts.hooks.rules``), where a rule's docstring is its only
documentation: the first line says what it fires on, then ``Why:`` (the CAPA or AWS behaviour
behind it, with the upstream reference), ``Bad:`` and ``Good:`` examples and ``Fix:``. The
documentation site's rule pages read the same parts (``rule_pages.py``).
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field

from capa_accounts.core.errors import CapaAccountsError, InputError
from capa_accounts.core.resources import IGNORE_ANNOTATION
from capa_accounts.hooks.rules import Rule, all_rules

SECTIONS = ("Why", "Bad", "Good", "Fix")
EXAMPLES = ("Bad", "Good")
# "Bad:", "Bad (at REF `1.30`, now):", and reStructuredText's "Bad::".
_HEADER = re.compile(rf"^({'|'.join(SECTIONS)})(\s*\([^)]*\))?::?(?:\s+(.*))?$")
_SHORT_ID = re.compile(r"^(?:CAPA-?)?([A-Z])-?0*([0-9]{1,3})$")


@dataclass
class RuleDoc:
    """A docstring split into its parts: the title, any text before the first section, the
    sections by name (lines, without the header word) and any qualifier of a header."""

    title: str
    intro: list[str] = field(default_factory=list)
    sections: dict[str, list[str]] = field(default_factory=dict)
    qualifiers: dict[str, str] = field(default_factory=dict)


def parse(rule: Rule) -> RuleDoc:
    lines = rule.doc.splitlines()
    doc = RuleDoc(title(rule))
    current = doc.intro
    for line in lines[1:]:
        header = _HEADER.match(line)
        if header:
            current = doc.sections.setdefault(header[1], [])
            doc.qualifiers[header[1]] = (header[2] or "").strip()
            line = header[3] or ""
        current.append(line)
    doc.intro = _trim(doc.intro)
    for name, body in doc.sections.items():
        body = _trim(body)
        # Examples keep their layout, shifted left; prose keeps its line breaks as written.
        doc.sections[name] = (
            textwrap.dedent("\n".join(body)).splitlines()
            if (name in EXAMPLES)
            else [line.strip() for line in body]
        )
    return doc


def title(rule: Rule) -> str:
    # Some docstrings repeat the ID ("CAPA-S001: an AWS ..."); the heading already has it.
    title = rule.title
    prefix = f"{rule.id}:"
    return title[len(prefix) :].strip() if title.startswith(prefix) else title


def _trim(lines: list[str]) -> list[str]:
    while lines and not lines[0].strip():
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return lines


def _terminal(text: str) -> str:
    """reStructuredText's ``literal`` reads as Markdown's `literal` on a terminal."""
    return text.replace("``", "`")


def find(rule_id: str) -> Rule:
    """The rule ``rule_id`` names: ``CAPA-I002``, ``I002`` and ``i002`` are one rule."""
    rules = all_rules()
    wanted = rule_id.strip().upper()
    short = _SHORT_ID.match(wanted)
    if short:
        wanted = f"CAPA-{short[1]}{int(short[2]):03d}"
    if wanted in rules:
        return rules[wanted]
    close = difflib.get_close_matches(wanted, list(rules), n=1, cutoff=0.75)
    if close:
        hint = f"; did you mean {close[0]}?"
    else:
        about = [
            r.id
            for r in rules.values()
            if len(rule_id) > 3 and rule_id.strip().lower() in r.doc.lower()
        ]
        families = ", ".join(sorted({r.id[5] for r in rules.values()}))
        hint = (
            f"; rules about it: {', '.join(about[:8])}"
            if about
            else f": rule IDs look like CAPA-I002 (families {families})"
        )
    raise InputError(f"unknown rule {rule_id!r}{hint}")


def explain(rule_id: str) -> str:
    """What the rule guards against, why, a bad and a good example, and how to fix it."""
    rule = find(rule_id)
    doc = parse(rule)
    out = [_terminal(f"{rule.id} ({rule.severity}): {doc.title}")]
    if rule.change_aware:
        out.append("Runs only with `capa-accounts check --base REF` (compares with a git ref).")
    if doc.intro:
        out += ["", *(_terminal(f"  {line}".rstrip()) for line in doc.intro)]
    for name, body in doc.sections.items():
        indent = "    " if name in EXAMPLES else "  "
        heading = f"{name} {doc.qualifiers[name]}".strip()
        out += ["", _terminal(heading), *(_terminal(f"{indent}{line}".rstrip()) for line in body)]
    out += [
        "",
        "Suppress (with a reason)",
        f'  on the resource: annotation {IGNORE_ANNOTATION}: "{rule.id}: <reason>"',
        f"  for an account in accounts.yaml: suppress: [{{rule: {rule.id}, reason: ...}}]",
    ]
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m capa_accounts.hooks.report.explain", description=__doc__
    )
    parser.add_argument("rule", nargs="?", help="explain one rule (CAPA-I002, I002, i002)")
    args = parser.parse_args(argv)
    try:
        if args.rule:
            print(explain(args.rule), end="")
        else:
            parser.print_usage(sys.stderr)
            return 2
    except CapaAccountsError as err:
        print(f"capa-accounts: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
