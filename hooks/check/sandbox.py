"""Confining the kustomize process itself: it sees a copy of the repository's files, nothing else.

``check`` proves every path a kustomization names is inside the repository before it builds
(``capa_accounts.core.confinement``); this is the wall behind that proof. kustomize builds a
temporary copy that holds only the repository's files (no ``.git``), and on Linux with
Landlock (kernel 5.13 and later; Documentation/userspace-api/landlock.rst) a small wrapper
restricts the process before it runs kustomize: read only below the copy, read and write only
in its own temporary ``HOME``, execute only the kustomize binary, and, with Landlock ABI 4 and
later, no TCP connection at all. Elsewhere (macOS, Windows, an older kernel, a seccomp profile
that refuses the system calls) the copy alone confines it, and the report says so.

The wrapper is this file's ``WRAPPER`` run by the same Python with ``-I -S`` (no site, no
environment): it calls landlock_create_ruleset, landlock_add_rule and landlock_restrict_self
(system calls 444, 445 and 446 on every architecture, include/uapi/asm-generic/unistd.h)
through ctypes and then replaces itself with kustomize, so the restriction holds for
kustomize and anything it starts. A wrapper, not ``preexec_fn``: the build hook runs builds
from threads, where a ``preexec_fn`` may deadlock (Python's subprocess documentation).
"""

from __future__ import annotations

import sys
from pathlib import Path

SYS_CREATE_RULESET = 444
EXEC_FAILED = 125  # the wrapper's exit status when it could not restrict itself or exec
MARKER = "capa-accounts-sandbox:"

# The wrapper: argv = [readable dir, writable dir, --, command...]. Access rights and struct
# layouts from include/uapi/linux/landlock.h.
WRAPPER = r"""
import ctypes, os, struct, sys
read_dir, home, _, *command = sys.argv[1:]
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def fail(what):
    sys.stderr.write("capa-accounts-sandbox: %s: %s\n" % (what, os.strerror(ctypes.get_errno())))
    sys.exit(125)
abi = libc.syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
if abi < 1:
    fail("landlock is not available")
fs = (1 << 13) - 1
if abi >= 2: fs |= 1 << 13   # REFER
if abi >= 3: fs |= 1 << 14   # TRUNCATE
if abi >= 5: fs |= 1 << 15   # IOCTL_DEV
net = 3 if abi >= 4 else 0   # BIND_TCP | CONNECT_TCP: handled, and no rule allows any
attr = struct.pack("QQ", fs, net) if abi >= 4 else struct.pack("Q", fs)
ruleset = libc.syscall(444, attr, ctypes.c_size_t(len(attr)), ctypes.c_uint32(0))
if ruleset < 0:
    fail("landlock_create_ruleset")
READ = (1 << 2) | (1 << 3)          # READ_FILE | READ_DIR
EXEC = (1 << 0) | (1 << 2)          # EXECUTE | READ_FILE
FILE = (1 << 1) | (1 << 2)          # WRITE_FILE | READ_FILE
binary = os.path.realpath(command[0])
for path, access in ((read_dir, READ), (home, fs), (binary, EXEC), (os.devnull, FILE)):
    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    rule = struct.pack("=Qi", access, fd)
    if libc.syscall(445, ctypes.c_int(ruleset), ctypes.c_int(1), rule, ctypes.c_uint32(0)):
        fail("landlock_add_rule " + path)
    os.close(fd)
if libc.prctl(38, 1, 0, 0, 0):      # PR_SET_NO_NEW_PRIVS
    fail("prctl(PR_SET_NO_NEW_PRIVS)")
if libc.syscall(446, ctypes.c_int(ruleset), ctypes.c_uint32(0)):
    fail("landlock_restrict_self")
os.close(ruleset)
try:
    os.execv(binary, command)
except OSError as err:
    sys.stderr.write("capa-accounts-sandbox: cannot run %s: %s\n" % (command[0], err))
    sys.exit(125)
"""

_state: dict[str, str | None] = {}


def landlock_abi() -> int:
    """The Landlock ABI version this kernel offers, 0 where there is none."""
    if not sys.platform.startswith("linux"):
        return 0
    import ctypes  # here: most checks never run kustomize, and ctypes costs 1.5 ms to import

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        # LANDLOCK_CREATE_RULESET_VERSION: the ABI version, no ruleset
        abi = int(libc.syscall(SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1)))
    except (OSError, AttributeError):
        return 0
    return max(abi, 0)


def unavailable() -> str | None:
    """Why Landlock cannot confine kustomize here, or None when it can."""
    if "why" not in _state:
        abi = landlock_abi()
        _state["why"] = None if abi >= 1 else f"no Landlock on {sys.platform}"
        if abi >= 1 and not sys.executable:
            _state["why"] = "no Python interpreter to run the wrapper"
    return _state["why"]


def disable(why: str) -> None:
    """Landlock failed on this machine (a wrapper that exited ``EXEC_FAILED``): not again."""
    _state["why"] = why


def wrapped(command: list[str], readable: Path, home: str) -> list[str]:
    """``command`` run under Landlock (read ``readable``, write ``home``), or as it is."""
    if unavailable() is not None:
        return command
    import shutil  # imported where kustomize runs

    binary = shutil.which(command[0]) or command[0]
    return [
        sys.executable,
        "-I",
        "-S",
        "-c",
        WRAPPER,
        str(readable),
        home,
        "--",
        binary,
        *command[1:],
    ]


def described() -> str:
    """Which protection confines kustomize, for the report."""
    why = unavailable()
    if why is None:
        return f"a copy of the repository's files, Landlock ABI {landlock_abi()}"
    return f"a copy of the repository's files only ({why})"


def exec_failed(returncode: int, stderr: str) -> bool:
    return returncode == EXEC_FAILED and stderr.startswith(MARKER)
