"""The deployment files (deploy/): what can be checked without a container runtime. The compose set's roles are run
outside a container, through the image's own entry point: migrate, web (gunicorn with the checkout's gunicorn.conf.py),
worker and scheduler against a database and a Redis of the test's own, until /readyz says ready; SIGTERM stops each.
(The closing note of issue 28 says why this machine cannot build or run the image itself.)"""

from __future__ import annotations

import configparser
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from hub.vault import Vault
from tests.test_reliability_processes import OwnRedis, free_port, wait_until

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
ROOT = DEPLOY.parent
ROLES = {"web", "worker", "scheduler", "migrate", "check"}


def test_the_dockerfile_copies_what_exists_and_runs_the_entry_point():
    lines = [line.strip() for line in (DEPLOY / "Dockerfile").read_text().splitlines()]
    copies = [line.split()[1:-1] for line in lines if line.startswith("COPY ")]
    assert copies and all((ROOT / source).exists() for sources in copies for source in sources)
    assert 'ENTRYPOINT ["/usr/local/bin/hub-entrypoint"]' in lines and 'CMD ["web"]' in lines
    assert os.access(DEPLOY / "entrypoint.sh", os.X_OK)


def test_compose_runs_one_image_in_every_role_after_the_migration():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "migrate", "web", "worker", "scheduler"}
    hub_services = {name: s for name, s in services.items() if s.get("image") == "integration-hub:latest"}
    assert set(hub_services) == {"migrate", "web", "worker", "scheduler"}
    for name, service in hub_services.items():
        assert service["command"][0] in ROLES and service["command"][0] == ("migrate" if name == "migrate" else
                                                                             service["command"][0])
        assert service["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
        assert service["environment"]["REDIS_URL"] == "redis://redis:6379/0"
    for name in ("web", "worker", "scheduler"):
        assert hub_services[name]["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}


def test_systemd_units_run_the_entry_point_roles():
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        parsed = configparser.ConfigParser(strict=False, interpolation=None)
        parsed.read(unit)
        command = parsed["Service"]["ExecStart"].split()
        assert command[0] == "/opt/hub/bin/hub-entrypoint" and command[1] in ROLES, unit.name
        assert parsed["Service"]["EnvironmentFile"] == "/etc/hub/hub.env"
        if command[1] != "migrate":
            assert parsed["Service"]["RestartPreventExitStatus"] == "4", "a broken configuration is not restarted"
            assert "hub-migrate.service" in parsed["Unit"]["Requires"]


@pytest.mark.slow
def test_the_roles_run_outside_a_container_until_ready(tmp_path: Path):
    redis_server = OwnRedis()
    redis_server.start()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "DATABASE_URL", "REDIS_URL"))}
    env.update(PATH=f"{Path(sys.executable).parent}:{env['PATH']}", FLASK_APP="hub.app:create_app",
               HUB_ENV="production", DATABASE_URL=f"sqlite:///{tmp_path / 'hub.db'}", REDIS_URL=redis_server.url,
               HUB_SECRET_KEYS=Vault.generate_key(), SECRET_KEY="deploy-test", HUB_INSTANCE_PATH=str(tmp_path),
               PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
               HUB_GUNICORN_CONFIG=str(DEPLOY.parent / "gunicorn.conf.py"),
               HUB_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="1", HUB_LOAD_PLUGINS="merit", HUB_LOG_FORMAT="json")
    entry = str(DEPLOY / "entrypoint.sh")
    migrate = subprocess.run([entry, "migrate"], env=env, capture_output=True, text=True, timeout=180)
    assert migrate.returncode == 0, migrate.stderr[-2000:]
    started = {role: subprocess.Popen([entry, role], env=env, stdout=(tmp_path / f"{role}.log").open("w"),
                                      stderr=subprocess.STDOUT, start_new_session=True)
               for role in ("web", "worker", "scheduler")}

    def readiness() -> tuple[int, dict] | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as exc:
            return exc.code, json.load(exc)
        except OSError:
            return None

    try:
        wait_until(lambda: (readiness() or (0,))[0] == 200, 90,
                   "/readyz 200: " + str(readiness()) + "".join((tmp_path / f"{r}.log").read_text()[-800:]
                                                                for r in started))
        assert readiness()[1]["checks"] == {"database": "ok", "redis": "ok", "workers": "ok"}
        for role, proc in started.items():
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=60) == 0, role + (tmp_path / f"{role}.log").read_text()[-2000:]
        for role in started:
            for line in (tmp_path / f"{role}.log").read_text().splitlines():
                if line.startswith("{"):
                    assert json.loads(line)["kind"] in ("web", "worker", "scheduler", "cli"), line
        check = subprocess.run([entry, "check"], env=env, capture_output=True, text=True, timeout=60)
        assert "mode: production (HUB_ENV=production)" in check.stdout and "database: ok" in check.stdout
    finally:
        for proc in started.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        redis_server.kill()
