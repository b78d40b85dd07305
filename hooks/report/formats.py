"""The report formats of ``check``: one list, read by the command line (without importing the
checks) and by ``ci_formats``, which writes them."""

FORMATS = ("text", "json", "sarif", "github", "junit", "gitlab")
# What ``capa-accounts rules`` prints (``catalogue.py``).
CATALOGUE_FORMATS = ("text", "json")
