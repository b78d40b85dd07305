"""``check --base REF`` reads once what REF and the working tree share byte for byte: the
objects of unchanged files are the working tree's own, a changed file is read from REF."""

from __future__ import annotations

from pathlib import Path

from capa_accounts.hooks.check import engine
from capa_accounts.hooks.check.context import Context, Obj
from capa_accounts.hooks.rules.changes import base_of

IDENTITY = "overlays/staging/identity.yaml"


def _states(repo: Path) -> tuple[Context, Context]:
    ctx = engine.check_context(repo, base_ref="HEAD")[1]
    return ctx, base_of(ctx)


def _by_file(ctx: Context) -> dict[str, list[Obj]]:
    out: dict[str, list[Obj]] = {}
    for obj in ctx.objects:
        out.setdefault(obj.file, []).append(obj)
    return out


def test_unchanged_files_are_read_once_and_the_changed_one_at_ref(committed: Path) -> None:
    path = committed / IDENTITY
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("sessionName: capa-staging", "sessionName: renamed"), "utf-8")
    ctx, base = _states(committed)
    now, then = _by_file(ctx), _by_file(base)
    assert set(now) == set(then) and len(now) > 3
    for file, objs in then.items():
        if file == IDENTITY:
            assert not {id(o) for o in objs} & {id(o) for o in now[file]}  # REF's blob
            assert [o.get("spec", "sessionName") for o in objs] == ["capa-staging"]
            assert [o.get("spec", "sessionName") for o in now[file]] == ["renamed"]
        else:
            assert [id(o) for o in objs] == [id(o) for o in now[file]], file


def test_one_changed_byte_is_read_at_ref_and_a_bom_is_no_change(committed: Path) -> None:
    """Sharing goes by the text read: a comment added is another blob, read at REF (its lines
    are REF's); a byte order mark added reads as the same text, so the same documents."""
    path = committed / IDENTITY
    path.write_text("# a comment\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    ctx, base = _states(committed)
    now, then = _by_file(ctx), _by_file(base)
    assert [o.data for o in then[IDENTITY]] == [o.data for o in now[IDENTITY]]
    assert not {id(o) for o in then[IDENTITY]} & {id(o) for o in now[IDENTITY]}
    assert [o.location().line for o in then[IDENTITY]] != [o.location().line for o in now[IDENTITY]]

    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().split(b"\n", 1)[1])
    ctx, base = _states(committed)
    now, then = _by_file(ctx), _by_file(base)
    assert [id(o) for o in then[IDENTITY]] == [id(o) for o in now[IDENTITY]]
