# lmarena-bridge: the OpenAI-compatible server with Debian's Chromium (headed under Xvfb, or headless).
#   docker build -t lmarena-bridge .
#   docker run -d -p 127.0.0.1:5102:5102 -v "$PWD/data:/app/data" --shm-size=1g lmarena-bridge
# /app/data holds config.jsonc, the model files and the browser profile (login, Cloudflare clearance).
# Any Debian bookworm (or newer) image will do as the base; tests/test_container.py builds one
# with debootstrap and passes it as --build-arg BASE_IMAGE=...
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}

# Debian's Python (3.11 on bookworm) and Chromium; libatomic1 for Playwright's node driver; Xvfb
# and xauth for a headed browser without a display; fonts so that pages render as on a desktop;
# tini as PID 1 (reaps Chromium's and Xvfb's orphans, passes SIGTERM on). Versions come from the
# base's Debian release and its security updates.
# hadolint ignore=DL3008
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        ca-certificates python3 python3-venv libatomic1 chromium xvfb xauth tini \
        fonts-liberation fonts-dejavu-core fonts-noto-color-emoji \
    && rm -rf /var/lib/apt/lists/*

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LMARENA_BRIDGE_BROWSER=/usr/bin/chromium \
    LMARENA_BRIDGE_CONFIG=/app/data/config.jsonc \
    LMARENA_BRIDGE_PROFILE=/app/data/profile \
    HOST=0.0.0.0 \
    PORT=5102 \
    LOG_LEVEL=INFO

WORKDIR /app

# The dependencies (and the build backend) named in pyproject.toml first: this layer changes only
# with pyproject.toml, so a change to the code or the README rebuilds in seconds, without the network.
COPY pyproject.toml ./
RUN python3 -m venv /opt/venv \
    && python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb')); print('\n'.join(p['build-system']['requires'] + p['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY README.md ./
COPY bridge ./bridge
COPY browser ./browser
RUN pip install --no-cache-dir --no-deps --no-build-isolation . \
    && rm -rf build ./*.egg-info \
    && useradd --create-home --uid 1000 --user-group bridge \
    && mkdir -p /app/data \
    && chown 1000:1000 /app/data

COPY config.jsonc /usr/local/share/lmarena-bridge/config.jsonc
COPY scripts/docker-entrypoint /usr/local/bin/docker-entrypoint

USER 1000:1000
VOLUME ["/app/data"]
EXPOSE 5102

# 200 once the arena page is loaded and logged in; 503 (unhealthy) with the reason otherwise.
HEALTHCHECK --interval=30s --timeout=10s --start-period=90s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '5102') + '/health', timeout=8)"]

# tini runs the entrypoint, which copies the default config.jsonc into an empty /app/data, then runs
# `lmarena-bridge ARGS`: `docker run IMAGE import-cookies /app/data/cookies.txt` runs another command.
# After a graceful shutdown on SIGTERM uvicorn re-raises the signal; -e 143 makes that exit 0.
ENTRYPOINT ["tini", "-e", "143", "--", "docker-entrypoint"]
CMD ["serve"]
