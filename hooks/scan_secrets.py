"""The pre-commit entry point of the credential scan (CAPA-S001, CAPA-S002) over given files.

pre-commit passes the staged file paths as arguments (every argument is a file, see
``hookargs``). Each file is read as text whatever it holds (``secret_files``: UTF-16, a NUL
byte, a file over the input bound in chunks) and scanned by
``capa_accounts.hooks.rules.secrets.scan_text``; findings are printed as
``path:line:col: [RULE] message``. Exit 1 when any finding, else 0. A file that cannot be read
at all (a FIFO, a symlink out of the repository) is named on stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from capa_accounts.core.finding import Finding
from capa_accounts.hooks import hookargs
from capa_accounts.hooks.check import secret_files
from capa_accounts.hooks.rules.secrets import check_s001, scan_text, unscannable


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scan-secrets",
        description="Find AWS credentials in plain text (CAPA-S001) and Secrets holding AWS "
        "credentials that are not SOPS-encrypted (CAPA-S002).",
    )
    parser.add_argument("files", nargs="*", help="files to scan (pre-commit passes them)")
    args = hookargs.parse(parser, sys.argv[1:] if argv is None else argv)

    root = Path.cwd().resolve()
    findings: list[Finding] = []
    for name in args.files:
        findings.extend(_scan(Path(name), root))
    for finding in sorted(findings, key=Finding.sort_key):
        print(finding.text())
    return 1 if findings else 0


def _scan(path: Path, root: Path) -> list[Finding]:
    """The findings of one file; a file that cannot be scanned is named on stderr."""
    rel = path.as_posix()
    target = path
    try:
        if path.is_symlink():
            target = path.resolve()
            # A symlink out of the repository points at something this commit does not hold
            # (and might be a device or a huge file); its target is not ours to judge.
            if not target.is_relative_to(root):
                _warn(path, "skipped: symlink points outside the repository")
                return []
    except (OSError, RuntimeError) as err:  # RuntimeError: a symlink loop in resolve()
        return [unscannable(rel, f"cannot read ({getattr(err, 'strerror', None) or err})")]
    text, skipped = secret_files.read_text(target)
    if skipped and secret_files.fails_closed(skipped):
        return [unscannable(rel, skipped)]  # fail closed: CAPA-S003
    if skipped:
        _warn(path, f"skipped: {skipped}")
        return []
    if text is None:  # over the YAML input bound: scanned in chunks, as text
        try:
            return secret_files.scan_chunks(target, rel, check_s001)
        except OSError as err:
            return [unscannable(rel, f"cannot read ({err.strerror or err})")]
    return scan_text(rel, text)


def _warn(path: Path, message: str) -> None:
    print(f"{path.as_posix()}: {message}", file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
