"""The yamllint configuration ``init`` writes: yamllint's defaults, relaxed for the generated
directories in the two ways kubectl and kustomize write YAML, and nowhere else.

The files people edit (accounts.yaml, base/, the pre-commit config) pass yamllint's defaults
as they are. The generated files start with ``---`` and a header of at most 80 columns; they
keep two habits of every Kubernetes tool's output (kustomize's ``kyaml``, PyYAML's emitter,
``core/yamldump.py``): a list is not indented under its key, and a value stays on its key's
line however long (a role ARN, the admission policy's CEL). ``indentation`` and
``line-length`` skip the generated directories for that; every other rule checks them.
"""

from __future__ import annotations

from pathlib import Path

from capa_accounts.kustomize_plugin import generated

# Where yamllint looks for a project's configuration, in the working directory and then in
# each parent (yamllint/cli.py, find_project_config_filepath).
CONFIG_FILES = (".yamllint", ".yamllint.yaml", ".yamllint.yml")
CONFIG_FILE = ".yamllint.yaml"
RELAXED = ("indentation", "line-length")
_WHY = """\
# yamllint's defaults, which accounts.yaml and base/ follow. The directories
# `capa-accounts render` writes follow kubectl's and kustomize's output
# instead: a list is not indented under its key, and a value stays on its
# key's line however long (role ARNs, the admission policy's CEL). Two rules
# skip them for that alone; every other rule checks them.
"""


def generated_paths(flux_dir: str = generated.DEFAULT_FLUX_DIR) -> list[str]:
    """The directories render writes, as yamllint patterns from the repository's top."""
    return [f"/{top}/" for top in dict.fromkeys((*generated.MANAGED_DIRS, flux_dir))]


def rules(flux_dir: str = generated.DEFAULT_FLUX_DIR, indent: str = "") -> str:
    """The ``rules:`` entries that relax the generated directories, indented by ``indent``."""
    patterns = "".join(f"{indent}      {path}\n" for path in generated_paths(flux_dir))
    return "".join(f"{indent}  {rule}:\n{indent}    ignore: |\n{patterns}" for rule in RELAXED)


def config_text(flux_dir: str = generated.DEFAULT_FLUX_DIR) -> str:
    """The whole ``.yamllint.yaml``; its own lines pass yamllint's defaults."""
    return f"---\n{_WHY}extends: default\n\nrules:\n{rules(flux_dir)}"


def existing(directory: Path, top: Path | None) -> Path | None:
    """A yamllint configuration yamllint would read in ``directory`` instead of ours: in it or
    in a parent up to the top of its git work tree ``top``."""
    here = directory.resolve()
    stop = top.resolve() if top is not None else here
    while True:
        for name in CONFIG_FILES:
            if (here / name).is_file():
                return here / name
        if here == stop or here.parent == here or stop not in here.parents:
            return None
        here = here.parent


def note(found: str, flux_dir: str) -> str:
    """What ``init`` prints when the repository has a yamllint configuration of its own."""
    return (
        f"{found} exists and was left as it is: merge into its rules, for the files "
        "render writes (docs: ci.md, yamllint):\n" + rules(flux_dir, indent="  ")
    )
