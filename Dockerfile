# syntax=docker/dockerfile:1
#
# nuki2mqtt: the gateway as a small image.
#
#   docker build -t nuki2mqtt:local .
#   docker run -d --name nuki2mqtt -v "$PWD/data:/app/data" -p 8321:8321 --env-file .env nuki2mqtt:local
#
# See docs/docker.md (and docker-compose.yml for the stack with a broker).

# ---------------------------------------------------------------- builder
# Builds the wheel of nuki2mqtt and of every dependency it declares in setup.cfg
# (install_requires), so the final stage installs offline from these wheels only.
# This stage is thrown away: its build tree, caches and any compiler never reach the image.
FROM python:3.11-slim AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /src
# Only what the package build reads (.dockerignore keeps everything else, e.g. .env
# and data/, out of the build context).
COPY setup.cfg setup.py README.md ./
COPY nuki2mqtt ./nuki2mqtt

# Platforms without a binary wheel of a dependency (e.g. PyNaCl on 32-bit ARM) need a
# compiler to build one: installed here, in the builder, only when that happens.
# hadolint ignore=DL3008
RUN pip wheel --wheel-dir /wheels . \
    || { apt-get update \
         && apt-get install -y --no-install-recommends build-essential libffi-dev \
         && pip wheel --wheel-dir /wheels . ; }

# ---------------------------------------------------------------- final image
FROM python:3.11-slim

ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="nuki2mqtt" \
      org.opencontainers.image.description="Gateway between Nuki smart locks, openers and smart doors and MQTT, with Home Assistant discovery" \
      org.opencontainers.image.source="https://github.com/nuki2mqtt/nuki2mqtt" \
      org.opencontainers.image.url="https://github.com/nuki2mqtt/nuki2mqtt" \
      org.opencontainers.image.documentation="https://github.com/nuki2mqtt/nuki2mqtt/blob/main/docs/docker.md" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}"

# Logs straight to `docker logs`; no .pyc writes at run time (site-packages is read-only
# for the gateway's user anyway: pip compiled them at install time).
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    NUKI2MQTT_CONFIG=/app/data/config.yaml

# The wheels are mounted from the builder for this one step, never copied into a layer.
# --no-index: only these wheels, so the versions are the ones the builder resolved.
# hadolint ignore=DL3013
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links /wheels nuki2mqtt

# A fixed uid/gid, so a bind-mounted ./data can be given to it: chown -R 1000:1000 data
RUN groupadd --system --gid 1000 nuki2mqtt \
    && useradd --system --uid 1000 --gid 1000 --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin nuki2mqtt \
    && mkdir -p /app/data \
    && chown -R 1000:1000 /app

WORKDIR /app
USER 1000:1000
# config.yaml and any state the gateway keeps (e.g. web.oauth.token_file).
VOLUME ["/app/data"]

# The HTTP listener (server.port): bridge callbacks, Web API webhooks, GET /health.
EXPOSE 8321

# 200 while MQTT is connected and every worker runs; 503 (or no answer) is unhealthy.
# Set NUKI2MQTT_HEALTH_PORT when server.port is not 8321. An error prints one line.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; sys.excepthook = lambda t, e, tb: print('unhealthy:', e); urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('NUKI2MQTT_HEALTH_PORT', '8321'), timeout=4)"]

# Exec form: the gateway is PID 1 and gets `docker stop`'s SIGTERM itself; its handler
# stops cleanly: commands in flight finish, bridge callbacks are removed, `offline` is published.
STOPSIGNAL SIGTERM
ENTRYPOINT ["nuki2mqtt"]
CMD ["run"]
