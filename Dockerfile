# lmarena-bridge: the OpenAI-compatible server with Playwright's own headless Chromium.
#   docker build -t lmarena-bridge .
#   docker run -d -p 127.0.0.1:5102:5102 -v "$PWD/data:/app/data" --shm-size=1g lmarena-bridge
# /app/data holds config.jsonc, the model files and the browser profile (login, Cloudflare clearance).
FROM python:3.12-slim-bookworm

# Keep in step with the playwright pin in pyproject.toml (tests/test_docker.py checks it).
ARG PLAYWRIGHT_VERSION=1.65.2

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PLAYWRIGHT_BROWSERS_PATH=/ms-playwright \
    LMARENA_BRIDGE_CONFIG=/app/data/config.jsonc \
    LMARENA_BRIDGE_PROFILE=/app/data/profile \
    HOST=0.0.0.0 \
    PORT=5102 \
    LOG_LEVEL=INFO

# Playwright and its Chromium (with the system libraries it needs) first: this layer rarely changes.
RUN pip install --no-cache-dir "playwright==${PLAYWRIGHT_VERSION}" \
    && python -m playwright install --with-deps chromium \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bridge ./bridge
COPY browser ./browser
RUN pip install --no-cache-dir . \
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

# The entrypoint copies the default config.jsonc into an empty /app/data, then runs `lmarena-bridge ARGS`:
# `docker run IMAGE import-cookies /app/data/cookies.txt` runs another command on the same data.
ENTRYPOINT ["docker-entrypoint"]
CMD ["serve"]
