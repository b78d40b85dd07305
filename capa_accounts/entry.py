"""The ``capa-accounts`` console script.

``capa-accounts fn`` is what kustomize runs for every build that uses the function as an exec
plugin: it goes straight to the function, without loading the command line (click) that it
does not use. Everything else, ``fn`` with options included, is parsed by ``cli``.
"""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] == ["fn"]:
        from capa_accounts.kustomize_plugin import fn

        sys.exit(fn.main())
    from capa_accounts.cli import main as command_line

    command_line()
