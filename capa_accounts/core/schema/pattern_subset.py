"""Schema patterns that Python's ``re`` matches exactly as RE2 does, and in linear time.

Kubernetes checks a schema ``pattern`` with Go's regexp (RE2 syntax): an unanchored search in
which ``^`` and ``$`` are the beginning and end of the whole value. The validator matches with
RE2 (google-re2) for that reason, but importing RE2 costs a process about 2 ms and an RE2
search from Python costs several times a ``re`` match. ``translate`` turns a pattern into an
equivalent ``re`` pattern when, by construction, both engines agree on it; every other pattern
is left to RE2, which also names the patterns it refuses.

The subset is an allow-list read by the small parser below; whatever it does not know is out.
The facts it relies on (RE2: https://github.com/google/re2/wiki/Syntax; Python:
https://docs.python.org/3/library/re.html) are checked against RE2 by
tests/unit/test_pattern_subset.py:

- literal ASCII letters, digits, ``-_/:@,=~`` and space; ``\\`` before one of
  ``.-/\\*+?()[]{}|^$`` (RE2: "literal «*», for any punctuation character «*»"; Python: a
  backslash before a character that is not an ASCII letter or digit matches that character);
  ``\\t``, ``\\n`` and ``\\r``, a tab, a newline and a carriage return in both;
- ``.``: any character but a newline in both (RE2's ``s`` flag and Python's ``re.DOTALL`` are
  off by default);
- classes ``[...]`` and ``[^...]`` of those characters, ``.+*?`` and ranges ``a-z`` (a ``-``
  first or last is itself; no ``--``, ``~~``, ``&&`` or ``||``, which Python reserves for set
  operations; no nested ``[``, no named or Perl classes); a negated class matches a newline
  and every non-ASCII character in both;
- ``^`` and ``$``: without the ``m`` flag (off by default) RE2 matches them at the beginning
  and at the end of the text only, which Python's ``\\A`` and ``\\Z`` do (Python's ``\\Z`` is
  the end of the string, never before a final newline as its ``$`` is);
- groups ``(...)`` and ``(?:...)`` (written ``(?:...)``: the match is all that counts),
  alternation ``|``, and the greedy ``*``, ``+``, ``?``, ``{n}``, ``{n,}``, ``{n,m}`` (decimal,
  no leading zero, 1 <= m, n <= m <= 1000: RE2 refuses larger counts and reads ``{,n}`` or
  ``{01}`` as text) directly after a character, class or group, never after another
  quantifier (RE2: a lazy form or "bad repetition operator").

Python's ``re`` backtracks, RE2 does not: ``^(a+)+$`` against forty ``a`` and a ``b`` is
instant in RE2 and would not end in Python. So a pattern of that grammar is admitted only when
Python's matcher is linear in the length of the value as well:

- it starts with ``^`` outside any group and alternation, so ``re.match`` tries one start;
- no quantified part and no alternative of an alternation can match the empty string, and no
  step from one character of the pattern to the next has two reasons (``(a+)+``: the inner and
  the outer loop), so each way through the pattern is one way through Python's matcher;
- its position (Glushkov) automaton, with counted repetitions written out (at most
  ``_MAX_POSITIONS`` positions), is unambiguous: no two paths that read the same prefix can
  still end on the same word. Then the backtracking matcher, which follows paths of that
  automaton, reaches each (prefix, position) at most once. ``^a*a*$`` (quadratic in Python) and
  ``^(a|ab)(c|bc)$`` are out.

A pattern longer than ``_MAX_LENGTH`` or with groups nested deeper than ``_MAX_DEPTH`` is left
to RE2 without more reading, and so is one whose ambiguity check would take more than
``_MAX_STEPS`` steps: for the patterns of schemas the checks take well under a millisecond.
"""

from __future__ import annotations

from functools import cache
from typing import Any

# Characters that stand for themselves outside a class; inside one, also ".+*?".
_LITERAL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_/:@,=~ ")
_CLASS_LITERAL = _LITERAL | frozenset(".+*?")
# Characters a backslash may escape.
_ESCAPABLE = frozenset(".-/\\*+?()[]{}|^$")
# Escapes of control characters, the same in both (RE2: "\\t horizontal tab", "\\n newline",
# "\\r carriage return"; Python's re: "most of the escape sequences supported by Python
# string literals are also accepted").
_CONTROL = {"t": "\t", "n": "\n", "r": "\r"}
_QUANTIFIERS = frozenset("*+?{")
_MAX_COUNT = 1000  # RE2's limit on a counted repetition
_MAX_POSITIONS = 128  # written-out characters of the pattern the ambiguity check accepts
_MAX_STEPS = 50_000  # work of the ambiguity check before it gives the pattern to RE2
_MAX_DEPTH = 20  # groups within groups (the checks below recurse into them)
_MAX_LENGTH = 1000  # characters of a pattern the parser reads

# A character set is an int: bit i for the ASCII character i, bit 128 for every other one
# (the subset names no non-ASCII character, so they all behave alike).
_EVERY = (1 << 129) - 1
_DOT = _EVERY & ~(1 << ord("\n"))

# Parsed nodes are tuples: ("char", set, text), ("anchor", text), ("group", node),
# ("seq", nodes), ("alt", nodes), ("rep", node, least, most or None).
Node = tuple[Any, ...]


class _Outside(Exception):
    """The pattern is not in the subset: RE2 matches it."""


@cache
def translate(pattern: str) -> str | None:
    """``pattern`` in Python's ``re`` syntax, to apply with ``match``, if it is in the subset;
    None when RE2 must match it."""
    if len(pattern) > _MAX_LENGTH:
        return None
    try:
        tree = _Parser(pattern).parse()
        if not _anchored(tree):
            return None
        _check_empty_paths(tree)
        if _ambiguous(tree):
            return None
    except _Outside:
        return None
    return _render(tree)


class _Parser:
    """Recursive descent over the grammar of the module docstring; ``_Outside`` on anything
    else."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0
        self.depth = 0

    def peek(self) -> str:
        return self.text[self.at] if self.at < len(self.text) else ""

    def take(self) -> str:
        char = self.peek()
        if not char:
            raise _Outside
        self.at += 1
        return char

    def parse(self) -> Node:
        tree = self.alternation()
        if self.at != len(self.text):
            raise _Outside  # an unopened ")"
        return tree

    def alternation(self) -> Node:
        branches = [self.sequence()]
        while self.peek() == "|":
            self.at += 1
            branches.append(self.sequence())
        return ("alt", tuple(branches))

    def sequence(self) -> Node:
        items: list[Node] = []
        while self.peek() not in ("", "|", ")"):
            items.append(self.piece())
        return ("seq", tuple(items))

    def piece(self) -> Node:
        char = self.take()
        if char in "^$":
            if self.peek() in _QUANTIFIERS:
                raise _Outside
            return ("anchor", r"\A" if char == "^" else r"\Z")
        if char == "(":
            atom = self.group()
        elif char == "[":
            atom = self.char_class()
        elif char == ".":
            atom = ("char", _DOT, ".")
        elif char == "\\":
            atom = self.escaped()
        elif char in _LITERAL:
            atom = ("char", 1 << ord(char), _escape(char))
        else:
            raise _Outside
        if self.peek() not in _QUANTIFIERS:
            return atom
        least, most = self.quantifier()
        if self.peek() in _QUANTIFIERS:
            raise _Outside  # RE2: a lazy form or "bad repetition operator"
        return ("rep", atom, least, most)

    def group(self) -> Node:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise _Outside
        if self.peek() == "?":
            self.at += 1
            if self.take() != ":":
                raise _Outside  # flags, names, lookarounds
        inner = self.alternation()
        if self.take() != ")" or inner == ("alt", (("seq", ()),)):
            raise _Outside  # unclosed or empty
        self.depth -= 1
        return ("group", inner)

    def escaped(self) -> Node:
        char = self.take()
        if char in _CONTROL:
            return ("char", 1 << ord(_CONTROL[char]), "\\" + char)
        if char not in _ESCAPABLE:
            raise _Outside
        return ("char", 1 << ord(char), _escape(char))

    def class_char(self) -> str:
        char = self.take()
        if char == "\\":
            char = self.take()
            if char in _CONTROL:
                return _CONTROL[char]
            if char not in _ESCAPABLE:
                raise _Outside
        elif char not in _CLASS_LITERAL or char == "-":
            raise _Outside
        return char

    def char_class(self) -> Node:
        start = self.at
        negated = self.peek() == "^"
        if negated:
            self.at += 1
        chars = 0
        parts: list[str] = []
        first = True
        while self.peek() != "]" or first:
            if self.peek() == "-" and (first or self.text[self.at + 1 : self.at + 2] == "]"):
                self.at += 1
                low = high = "-"
            else:
                low = high = self.class_char()
                if self.peek() == "-" and self.text[self.at + 1 : self.at + 2] != "]":
                    self.at += 1
                    high = self.class_char()
                    if high < low:
                        raise _Outside  # RE2: invalid character class range
            chars |= ((1 << (ord(high) + 1)) - 1) & ~((1 << ord(low)) - 1)
            parts.append(_escape(low) if low == high else f"{_escape(low)}-{_escape(high)}")
            first = False
        self.at += 1
        if any(twice in self.text[start : self.at] for twice in ("--", "~~", "&&", "||")):
            raise _Outside  # Python warns of them as future set operations
        if negated:
            chars = _EVERY & ~chars
        return ("char", chars, f"[{'^' if negated else ''}{''.join(parts)}]")

    def quantifier(self) -> tuple[int, int | None]:
        char = self.take()
        if char != "{":
            return {"*": (0, None), "+": (1, None), "?": (0, 1)}[char]
        least = self.number()
        most: int | None = least
        if self.peek() == ",":
            self.at += 1
            most = None if self.peek() == "}" else self.number()
        if self.take() != "}" or most == 0 or (most is not None and most < least):
            raise _Outside
        return least, most

    def number(self) -> int:
        start = self.at
        while self.peek().isascii() and self.peek().isdigit():
            self.at += 1
        digits = self.text[start : self.at]
        if not digits or (len(digits) > 1 and digits[0] == "0") or int(digits) > _MAX_COUNT:
            raise _Outside
        return int(digits)


def _escape(char: str) -> str:
    control = {v: k for k, v in _CONTROL.items()}.get(char)
    if control:
        return "\\" + control
    return char if char.isascii() and char.isalnum() else "\\" + char


def _render(node: Node) -> str:
    tag = node[0]
    if tag in ("char", "anchor"):
        return str(node[-1])
    if tag == "group":
        return f"(?:{_render(node[1])})"
    if tag == "seq":
        return "".join(_render(item) for item in node[1])
    if tag == "alt":
        return "|".join(_render(branch) for branch in node[1])
    least, most = node[2], node[3]
    count = {(0, None): "*", (1, None): "+", (0, 1): "?"}.get((least, most))
    if count is None:
        count = f"{{{least}}}" if least == most else f"{{{least},{'' if most is None else most}}}"
    return _render(node[1]) + count


def _anchored(tree: Node) -> bool:
    """Whether every match starts at the beginning: a leading ``^`` outside any alternation."""
    branches = tree[1]
    return len(branches) == 1 and bool(branches[0][1]) and branches[0][1][0] == ("anchor", r"\A")


def _nullable(node: Node) -> bool:
    tag = node[0]
    if tag == "char":
        return False
    if tag == "anchor":
        return True
    if tag == "group":
        return _nullable(node[1])
    if tag == "seq":
        return all(_nullable(item) for item in node[1])
    if tag == "alt":
        return any(_nullable(branch) for branch in node[1])
    return node[2] == 0 or _nullable(node[1])


def _check_empty_paths(node: Node) -> None:
    """``_Outside`` when the empty string has two ways through a part of the pattern: a
    quantified part that can match it, or an alternative that can."""
    tag = node[0]
    if tag == "group":
        _check_empty_paths(node[1])
    elif tag in ("seq", "alt"):
        for item in node[1]:
            if tag == "alt" and len(node[1]) > 1 and _nullable(item):
                raise _Outside
            _check_empty_paths(item)
    elif tag == "rep":
        if _nullable(node[1]):
            raise _Outside
        _check_empty_paths(node[1])


class _Automaton:
    """The position automaton of a parsed pattern, anchors read as empty (which only adds
    paths): position 0 is the start, every other one a character set."""

    def __init__(self) -> None:
        self.chars: list[int] = [0]
        self.follow: list[set[int]] = [set()]

    def build(self, node: Node) -> tuple[set[int], set[int], bool]:
        """(first positions, last positions, matches empty) of ``node``, adding its
        positions."""
        tag = node[0]
        if tag == "char":
            if len(self.chars) > _MAX_POSITIONS:
                raise _Outside
            self.chars.append(node[1])
            self.follow.append(set())
            return {len(self.chars) - 1}, {len(self.chars) - 1}, False
        if tag == "anchor":
            return set(), set(), True
        if tag == "group":
            return self.build(node[1])
        if tag == "alt":
            first: set[int] = set()
            last: set[int] = set()
            empty = False
            for branch in node[1]:
                f, la, e = self.build(branch)
                first |= f
                last |= la
                empty = empty or e
            return first, last, empty
        if tag == "seq":
            return self.sequence([lambda item=item: self.build(item) for item in node[1]])
        body, least, most = node[1], node[2], node[3]
        parts = [lambda: self.build(body)] * max(least - (most is None), 0)
        if most is None:
            parts.append(lambda: self.loop(body, least == 0))
        elif most > least:
            parts.append(lambda: self.optional_chain(body, most - least))
        return self.sequence(parts)

    def link(self, sources: set[int], targets: set[int]) -> None:
        """Let each of ``targets`` follow each of ``sources``. Each such step has one reason in
        a pattern whose every way is one way through Python's matcher; a step added twice
        (``(a+)+``: the inner and the outer loop) is two ways, and ``_Outside``."""
        for position in sources:
            if self.follow[position] & targets:
                raise _Outside
            self.follow[position] |= targets

    def sequence(self, parts: list[Any]) -> tuple[set[int], set[int], bool]:
        first: set[int] = set()
        last: set[int] = set()
        empty = True
        for part in parts:
            f, la, e = part()
            self.link(last, f)
            if empty:
                first |= f
            last = last | la if e else la
            empty = empty and e
        return first, last, empty

    def loop(self, body: Node, empty: bool) -> tuple[set[int], set[int], bool]:
        """``body+`` (or ``body*`` when ``empty``)."""
        first, last, _ = self.build(body)
        self.link(last, first)
        return first, last, empty

    def optional_chain(self, body: Node, count: int) -> tuple[set[int], set[int], bool]:
        """Up to ``count`` more ``body``, each only after the one before: ``(b(b(b)?)?)?``."""
        first, last, _ = self.build(body)
        every_last = set(last)
        for _ in range(count - 1):
            f, la, _ = self.build(body)
            self.link(last, f)
            last = la
            every_last |= la
        return first, every_last, True


def _ambiguous(tree: Node) -> bool:
    """Whether two paths of the position automaton read the same prefix, part at some point
    and can still end together: pairs of positions reachable on one word from the start
    (the product automaton), one of them a pair of different positions from which both
    reach an end on one word. Too much work to decide counts as ambiguous."""
    automaton = _Automaton()
    first, last, empty = automaton.build(tree)
    automaton.follow[0] = first
    chars, follow = automaton.chars, automaton.follow
    ends = last | ({0} if empty else set())
    seen = {(0, 0)}
    queue = [(0, 0)]
    before: dict[tuple[int, int], list[tuple[int, int]]] = {}
    steps = 0
    while queue:
        pair = queue.pop()
        a, b = pair
        for p in follow[a]:
            for q in follow[b]:
                steps += 1
                if steps > _MAX_STEPS:
                    return True
                if chars[p] & chars[q]:
                    step = (p, q) if p <= q else (q, p)
                    before.setdefault(step, []).append(pair)
                    if step not in seen:
                        seen.add(step)
                        queue.append(step)
    # Pairs from which both positions reach an end on one word.
    ending = [pair for pair in seen if pair[0] in ends and pair[1] in ends]
    can_end = set(ending)
    while ending:
        for pair in before.get(ending.pop(), ()):
            if pair not in can_end:
                can_end.add(pair)
                ending.append(pair)
    return any(a != b for a, b in can_end)
