"""The documentation site's rule pages, generated from the rule docstrings.

A rule family is a module of ``capa_accounts.hooks.rules``; its page, ``docs/rules/<family>.md``,
holds each of its rules as ``explain`` prints it (title, severity, Why, Bad, Good, Fix) under the
anchor ``#capa-x000``, the address SARIF's ``helpUri`` and the rule table link to. The table of
every rule goes between the markers of ``docs/rules/index.md``; the rest of that page is written
by hand. ``python -m capa_accounts.hooks.report.rule_pages`` writes the pages, ``--check`` fails
when a committed page is stale.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from capa_accounts.core import filewrite, version, yamlio
from capa_accounts.core.errors import CapaAccountsError, InputError
from capa_accounts.core.resources import IGNORE_ANNOTATION
from capa_accounts.hooks import rules as rules_package
from capa_accounts.hooks.report.explain import EXAMPLES, parse, title
from capa_accounts.hooks.rules import FAMILIES, Rule, all_rules

DOCS = Path(__file__).resolve().parents[2] / "docs"
INDEX = "rules/index.md"
START, END = "<!-- rules:start -->", "<!-- rules:end -->"
GENERATED = (
    "<!-- generated from the rule docstrings by "
    "`python -m capa_accounts.hooks.report.rule_pages`: edit the docstrings, not this page -->"
)
# Outside code spans, what Markdown would read as markup in a docstring's prose.
_MARKUP = re.compile(r"([\\<>*_\[\]])")


def family(rule: Rule) -> str:
    """The rule's family: the module of ``hooks/rules/`` that defines it."""
    return rule.check.__module__.rsplit(".", 1)[-1]


def anchor(rule_id: str) -> str:
    """The rule's anchor on its family page: ``capa-t003`` for CAPA-T003."""
    return rule_id.lower()


def page_path(rule: Rule) -> str:
    """The rule's place on the site, relative to its root: ``rules/trust/#capa-t003``."""
    return f"rules/{family(rule)}/#{anchor(rule.id)}"


def help_uri(rule: Rule) -> str | None:
    """The rule's documentation on the site (SARIF's ``helpUri``); None when the installed
    metadata names no documentation site."""
    base = version.documentation_url()
    return f"{base}{page_path(rule)}" if base else None


def by_family() -> dict[str, list[Rule]]:
    """Every family with its rules in ID order; a family without rules has no page."""
    out: dict[str, list[Rule]] = {}
    for rule in all_rules().values():
        out.setdefault(family(rule), []).append(rule)
    return {name: out[name] for name in FAMILIES if name in out}


def family_title(name: str) -> tuple[str, str]:
    """A family's heading and one-sentence summary, from its module docstring's first
    sentence ("Clusters (CAPA-C005 … C008): region and version as declared, ...")."""
    source = Path(rules_package.__file__).with_name(f"{name}.py").read_text(encoding="utf-8")
    doc = ast.get_docstring(ast.parse(source)) or name
    first = " ".join(doc.split("\n\n", 1)[0].split())
    head, _, rest = first.partition(": ")
    heading = re.sub(r"\s*\(CAPA-[^)]*\)", "", head).strip()
    sentence = re.split(r"(?<=[.?])\s", rest, maxsplit=1)[0].strip()
    return heading, sentence[:1].upper() + sentence[1:]


def _prose(line: str) -> str:
    """A docstring's prose line as Markdown: code spans kept, markup characters escaped."""
    parts = re.split(r"(``[^`]+``|`[^`]+`)", line)
    return "".join(
        f"`{part.strip('`')}`" if part.startswith("`") else _MARKUP.sub(r"\\\1", part)
        for part in parts
    )


def rule_section(rule: Rule) -> str:
    doc = parse(rule)
    out = [f"## {rule.id} {{ #{anchor(rule.id)} }}", "", f"**{_prose(doc.title)}**", ""]
    facts = f"Severity: {rule.severity}. Name: `{rule.name}`."
    if rule.change_aware:
        facts += " Runs only with `capa-accounts check --base REF` (compares with a git ref)."
    out += [facts, ""]
    if doc.intro:
        out += [*(_prose(line) for line in doc.intro), ""]
    for name, body in doc.sections.items():
        heading = f"{name} {doc.qualifiers[name]}".strip()
        out += [f"**{_prose(heading)}**", ""]
        if name in EXAMPLES:
            out += ["```text", *(line.rstrip() for line in body), "```", ""]
        else:
            out += [*(_prose(line) for line in body), ""]
    out += [
        f'Suppress it with a reason: the annotation `{IGNORE_ANNOTATION}: "{rule.id}: '
        f'<reason>"` on the resource, or `suppress: [{{rule: {rule.id}, reason: ...}}]` on the '
        "account in `accounts.yaml`.",
        "",
    ]
    return "\n".join(out)


def family_page(name: str, members: list[Rule]) -> str:
    heading, summary = family_title(name)
    ids = ", ".join(f"[{r.id}](#{anchor(r.id)})" for r in members)
    out = [GENERATED, "", f"# {heading}", "", _prose(summary), "", f"Rules: {ids}.", ""]
    out += [rule_section(rule) for rule in members]
    return "\n".join(out).rstrip("\n") + "\n"


def rule_table() -> str:
    """The Markdown table of every rule: ID (a link to its page), severity, what it fires on."""
    rows = ["| ID | severity | fires when |", "|---|---|---|"]
    for rule in all_rules().values():
        when = title(rule).replace("|", "\\|")
        if rule.change_aware and "--base" not in when:
            when = f"(`--base`) {when}"
        link = f"[{rule.id}]({family(rule)}.md#{anchor(rule.id)})"
        rows.append(f"| {link} | {rule.severity} | {when} |")
    return "\n".join(rows) + "\n"


def table_block(text: str) -> str | None:
    """The text between the markers (after the start marker's line), or None without them."""
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        return None
    return text[start + len(START) : end].removeprefix("\n")


def with_table(text: str, where: str) -> str:
    if table_block(text) is None:
        raise InputError(f"no {START} ... {END} markers: add them where the rule table goes", where)
    start, end = text.find(START) + len(START), text.find(END)
    return f"{text[:start]}\n{rule_table()}{text[end:]}"


def pages(docs: Path = DOCS) -> dict[Path, str]:
    """Every generated page's path and text: the family pages, and the index with its table."""
    index = docs / INDEX
    text = yamlio.read_text(index, INDEX) if index.is_file() else None
    if text is None:
        raise InputError("no such file: it holds the rule table between markers", str(index))
    out = {index: with_table(text, str(index))}
    for name, members in by_family().items():
        out[docs / "rules" / f"{name}.md"] = family_page(name, members)
    return out


def stale(docs: Path = DOCS) -> list[Path]:
    """The generated pages whose committed text differs from what the docstrings give, and
    pages of families that no longer exist."""
    wanted = pages(docs)
    out = [p for p, text in wanted.items() if not p.is_file() or p.read_text("utf-8") != text]
    for page in sorted((docs / "rules").glob("*.md")):
        if page not in wanted and page.read_text(encoding="utf-8").startswith(GENERATED):
            out.append(page)
    return out


def write(docs: Path = DOCS) -> list[Path]:
    """Write every stale page (and remove the pages of families that are gone)."""
    wanted = pages(docs)
    changed = stale(docs)
    for path in changed:
        if path in wanted:
            filewrite.atomic_write(path, wanted[path])
        else:
            path.unlink()
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m capa_accounts.hooks.report.rule_pages", description=__doc__
    )
    parser.add_argument("--docs", type=Path, default=DOCS, help="the docs directory")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if stale")
    args = parser.parse_args(argv)
    try:
        if args.check:
            old = stale(args.docs)
            for path in old:
                print(f"{path}: stale: run python -m capa_accounts.hooks.report.rule_pages")
            return 1 if old else 0
        for path in write(args.docs):
            print(f"{path}: written")
    except CapaAccountsError as err:
        print(f"capa-accounts: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
