# Palabre server image: `docker compose up` runs two of these behind nginx, on one Redis.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

COPY pyproject.toml constraints.txt README.md ./
COPY server ./server
COPY boards ./boards
COPY client ./client
# Exact versions from constraints.txt, as in development and CI.
RUN pip install --no-cache-dir -c constraints.txt . \
 && useradd --system --home-dir /app palabre

USER palabre
EXPOSE 8000
HEALTHCHECK --interval=5s --timeout=3s --retries=5 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"
CMD ["palabre", "serve", "--host", "0.0.0.0", "--port", "8000", "--redis", "redis://redis:6379/0"]
