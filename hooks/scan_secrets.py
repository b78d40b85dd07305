"""The pre-commit entry point of the credential scan (CAPA-S001, CAPA-S002) over given files.

pre-commit passes the staged file paths as arguments. Each file is read as text, whatever its
type, and scanned by ``capa_accounts.hooks.rules.secrets.scan_text``; findings are printed as
``path:line:col: [RULE] message``. Exit 1 when any finding, else 0. A file that cannot be read
is a warning on stderr, not a failure: the scan must never block a commit for a reason that is
not a credential (``check`` reports unreadable YAML as an input error).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from capa_accounts.hooks.finding import Finding
from capa_accounts.hooks.rules.secrets import scan_text
from capa_accounts.core.yamlio import MAX_FILE_BYTES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scan-secrets",
        description="Find AWS credentials in plain text (CAPA-S001) and Secrets holding AWS "
                    "credentials that are not SOPS-encrypted (CAPA-S002).")
    parser.add_argument("files", nargs="*", help="files to scan (pre-commit passes them)")
    args = parser.parse_args(argv)

    root = Path.cwd().resolve()
    findings: list[Finding] = []
    for name in args.files:
        text = _read(Path(name), root)
        if text is not None:
            findings.extend(scan_text(Path(name).as_posix(), text))
    for finding in sorted(findings, key=Finding.sort_key):
        print(finding.text())
    return 1 if findings else 0


def _read(path: Path, root: Path) -> str | None:
    """The file's text, or None (with a warning) when it is not a regular text file to scan."""
    try:
        if path.is_symlink():
            target = path.resolve()
            # A symlink out of the repository points at something this commit does not hold
            # (and might be a device or a huge file); its target is not ours to judge.
            if not target.is_relative_to(root):
                _warn(path, "skipped: symlink points outside the repository")
                return None
        if not path.is_file():
            _warn(path, "skipped: not a regular file")
            return None
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            _warn(path, f"skipped: {size / 1048576:.1f} MiB is over the 8 MiB scan limit")
            return None
        raw = path.read_bytes()
    except (OSError, RuntimeError) as err:  # RuntimeError: a symlink loop in resolve()
        _warn(path, f"skipped: cannot read ({getattr(err, 'strerror', None) or err})")
        return None
    if b"\0" in raw:
        return None  # binary: git diffs it as such, and keys in it are not text we can point at
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    # Keys are ASCII: a Latin-1 .env file still shows them after replacing its odd bytes.
    return raw.decode("utf-8", errors="replace")


def _warn(path: Path, message: str) -> None:
    print(f"{path.as_posix()}: {message}", file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
