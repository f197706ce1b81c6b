"""The deployment files are consistent (no Docker here: a structural check, not a run).

docker-compose.yml is parsed with PyYAML when it is installed; otherwise its text is checked
for the same facts. nginx.conf must pass WebSocket upgrades and keep sockets open.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = (ROOT / "docker-compose.yml").read_text()
NGINX = (ROOT / "deploy" / "nginx.conf").read_text()
DOCKERFILE = (ROOT / "Dockerfile").read_text()
REDIS_URL = "redis://redis:6379/0"


def test_compose_has_redis_two_replicas_and_a_proxy() -> None:
    try:
        import yaml  # noqa: PLC0415
    except ImportError:
        yaml = None
    if yaml is not None:
        services = yaml.safe_load(COMPOSE)["services"]
        assert {"redis", "palabre-1", "palabre-2", "proxy"} <= services.keys()
        redis_cmd = " ".join(services["redis"]["command"])
        replica_cmds = [" ".join(services[name]["command"]) for name in ("palabre-1", "palabre-2")]
        assert services["proxy"]["volumes"] == ["./deploy/nginx.conf:/etc/nginx/nginx.conf:ro"]
    else:
        for service in ("redis", "palabre-1", "palabre-2", "proxy"):
            assert re.search(rf"^  {service}:$", COMPOSE, re.M), f"service {service} missing"
        assert COMPOSE.count("<<: *palabre") == 2
        redis_cmd = COMPOSE[COMPOSE.index("  redis:") :]
        replica_cmds = [COMPOSE[COMPOSE.index("x-palabre") : COMPOSE.index("services:")]]
        assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in COMPOSE
    assert "--appendonly" in redis_cmd and '"yes"' in COMPOSE
    assert "noeviction" in redis_cmd and "allkeys" not in COMPOSE
    assert re.search(r"appendfsync.{0,4}(always|everysec)", redis_cmd)
    for command in replica_cmds:
        assert "--redis" in command and REDIS_URL in command and "0.0.0.0" in command


def test_dockerfile_installs_with_constraints_and_serves_on_redis() -> None:
    assert DOCKERFILE.startswith("#") and "FROM python:3.11-slim" in DOCKERFILE
    assert "-c constraints.txt" in DOCKERFILE
    assert f'"--redis", "{REDIS_URL}"' in DOCKERFILE and '"--host", "0.0.0.0"' in DOCKERFILE


def test_nginx_passes_websocket_upgrades_to_both_replicas_without_stickiness() -> None:
    ws = NGINX[NGINX.index("location /ws/") :]
    ws = ws[: ws.index("}")]
    assert "proxy_http_version 1.1;" in ws
    assert "proxy_set_header Upgrade $http_upgrade;" in ws
    assert "proxy_set_header Connection $connection_upgrade;" in ws
    assert re.search(r"map \$http_upgrade \$connection_upgrade", NGINX)
    timeout = re.search(r"proxy_read_timeout (\d+)s;", ws)
    assert timeout and int(timeout.group(1)) >= 60, "sockets idle between pings must stay open"
    assert "server palabre-1:8000" in NGINX and "server palabre-2:8000" in NGINX
    assert not re.search(r"^\s*(ip_hash|hash|sticky)\b", NGINX, re.M)
    assert NGINX.count("{") == NGINX.count("}")


@pytest.mark.parametrize("path", ["docker-compose.yml", "deploy/nginx.conf", "Dockerfile"])
def test_deploy_files_have_no_tabs_or_trailing_spaces(path: str) -> None:
    for number, line in enumerate((ROOT / path).read_text().splitlines(), 1):
        assert "\t" not in line and line == line.rstrip(), f"{path}:{number}"
