"""``python -m capa_accounts.cli``: the command line, as the ``capa-accounts`` script runs it."""

from capa_accounts.cli import main

main()
