# xctoken: App Store Connect API tokens. One image for the GitHub container action
# (action.yml) and for other CIs (GitLab, Jenkins, Bitrise, ...): see entrypoint.py.
#
# The base is pinned by digest (python:3.11-slim, Debian 12; digest pinned 2026-11-23,
# bumped by Dependabot). Tests that cannot reach Docker Hub build with
#   --build-arg BASE_IMAGE=xctoken-standin/python:3.11-slim
ARG BASE_IMAGE=python:3.11-slim@sha256:9c900dea9e8fb7e16277c179b555cc72d29a352dbc33cff48ad5a0412fd5bfc7
FROM ${BASE_IMAGE}

LABEL org.opencontainers.image.title="xctoken" \
      org.opencontainers.image.description="App Store Connect API tokens (ES256 JWTs) for CI" \
      org.opencontainers.image.licenses="MIT"

# No USER: GitHub runs container actions as root. Everything below is world-readable
# so the image also works as an arbitrary UID without a home (Jenkins' docker agent).
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# Pinned, hash-checked wheels only: no compiler, no sdist, no pip cache in the layer.
COPY requirements/runtime.txt /opt/xctoken/requirements/runtime.txt
RUN python3 -m pip install --no-cache-dir --require-hashes --no-deps --only-binary=:all: \
        -r /opt/xctoken/requirements/runtime.txt

COPY entrypoint.py /opt/xctoken/entrypoint.py
COPY xctoken /opt/xctoken/xctoken
# Byte-compile now (an arbitrary UID could not write __pycache__ later), make `import
# xctoken` and the `xctoken` command work anywhere, and open read access to everyone.
RUN python3 -m compileall -q /opt/xctoken/xctoken \
 && python3 -c "import site, sys; open(site.getsitepackages()[0] + '/xctoken.pth', 'w').write('/opt/xctoken\n')" \
 && printf '#!/bin/sh\nexec /usr/local/bin/python3 -I -u /opt/xctoken/entrypoint.py xctoken "$@"\n' > /usr/local/bin/xctoken \
 && chmod 0755 /usr/local/bin/xctoken \
 && chmod -R a+rX /opt/xctoken \
 && /usr/local/bin/xctoken --version

# Absolute paths, exec form, isolated mode (-I): the job's PATH, HOME and PYTHON*
# variables override the image's ENV on GitHub and must not matter.
ENTRYPOINT ["/usr/local/bin/python3", "-I", "-u", "/opt/xctoken/entrypoint.py"]
