# mention-monitor in a container. Step by step, with docker compose: docs/operations.md.
#
#   docker build -t mention-monitor .
#   docker run -d --name mention-monitor -p 8080:8080 \
#       -v mention-monitor-data:/data \
#       -v "$PWD/config.yaml:/config/config.yaml:ro" \
#       --env-file .env mention-monitor
#
# Inside the container the configuration is /config/config.yaml, and it must say
#   database: sqlite:////data/mentions.db        (the database on the /data volume)
#   web: {listen: 0.0.0.0:8080, password: ${MENTION_MONITOR_PASSWORD}}
# (the inbox must listen beyond the container's own address, which needs a password);
# deploy/docker/config.example.yaml is such a file.

# The build stage: the program and its libraries in a venv, copied whole into the image.
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/mention-monitor
WORKDIR /src
COPY pyproject.toml README.md ./
COPY monitor ./monitor
COPY connectors ./connectors
COPY alerts ./alerts
# With PostgreSQL's driver, so the same image serves deploy/docker-compose.yml's workers.
RUN /opt/mention-monitor/bin/pip install --no-cache-dir ".[postgres]"

# The image: Python, the venv, a user of its own; no compiler, no pip cache, no sources.
FROM python:3.11-slim
ENV PATH=/opt/mention-monitor/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    MENTION_MONITOR_CONFIG=/config/config.yaml
COPY --from=build /opt/mention-monitor /opt/mention-monitor
RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin mention-monitor \
    && mkdir -p /data /config \
    && chown mention-monitor:mention-monitor /data \
    && chmod 700 /data
USER 10001:10001
WORKDIR /data
# The database, its -wal/-shm/.lock files and the backups taken before an upgrade.
VOLUME ["/data"]
EXPOSE 8080
# Healthy while the inbox answers and the database can be read (503 otherwise).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
ENTRYPOINT ["mention-monitor"]
CMD ["run"]
