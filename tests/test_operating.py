"""Operating the hub: a start that refuses a broken configuration, `flask hub check`, health and readiness probes,
/metrics with the database down, and an embedded hub that stops cleanly (real processes where it matters)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

from hub.app import create_app
from hub.vault import Vault
from tests.test_reliability_processes import alive, descendants, free_port, wait_until

ROOT = Path(__file__).resolve().parents[1]
UNREACHABLE_DB = "postgresql://hub:pw@127.0.0.1:1/hub"  # port 1: refused at once


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A process environment without the test run's services, its temporary files in a folder of its own."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "HUB_SECRET_KEYS", "SECRET_KEY", "HUB_ENV")}
    (tmp_path / "tmp").mkdir(exist_ok=True)
    env.update(FLASK_APP="hub.app:create_app", HUB_INSTANCE_PATH=str(tmp_path / "instance"),
               TMPDIR=str(tmp_path / "tmp"), HUB_LOAD_PLUGINS="merit", **extra)
    return env


def _redis_servers_of(tmp_path: Path) -> list[int]:
    """redis-servers whose files are under tmp_path (an embedded one keeps its socket in TMPDIR)."""
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        if proc.info["name"] == "redis-server" and str(tmp_path) in " ".join(proc.info["cmdline"] or ()):
            found.append(proc.pid)
        elif proc.info["name"] == "redis-server":
            try:
                if str(tmp_path) in proc.cwd():
                    found.append(proc.pid)
            except psutil.Error:
                pass
    return found


@pytest.mark.slow
def test_gunicorn_refuses_a_production_start_with_missing_settings(tmp_path: Path):
    env = _env(tmp_path, DATABASE_URL=UNREACHABLE_DB)
    done = subprocess.run([str(Path(sys.executable).parent / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{free_port()}",
                           "hub.app:create_app()"], env=env, capture_output=True, text=True, timeout=60)

    assert done.returncode == 4, done.stderr[-3000:]  # gunicorn's "App failed to load": it stops, no restarts
    lines = [line for line in done.stderr.splitlines() if line.startswith("configuration: ")]
    assert [line.split(":")[1].split()[0] for line in lines[:4]] == [
        "HUB_SECRET_KEYS", "REDIS_URL", "SECRET_KEY", "the"], done.stderr
    assert "the database does not answer at postgresql://hub:***@127.0.0.1:1/hub" in done.stderr
    assert "pw@" not in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "instance" / "secret.keys").exists(), "no embedded fallback in production"
    assert not (tmp_path / "instance" / "redis.db.settings").exists()
    assert not _redis_servers_of(tmp_path)


def test_a_malformed_key_stops_any_command_with_one_line(tmp_path: Path):
    env = _env(tmp_path, HUB_SECRET_KEYS=f"{Vault.generate_key()},not-a-key")
    done = subprocess.run([sys.executable, "-m", "flask", "hub", "init-db"], env=env, capture_output=True,
                          text=True, timeout=60)

    assert done.returncode == 4
    assert "configuration: HUB_SECRET_KEYS: key 2 of 2 is not a Fernet key" in done.stderr
    assert "Traceback" not in done.stderr and "not-a-key" not in done.stderr


def test_hub_env_production_refuses_embedded_fallbacks_on_sqlite(tmp_path: Path):
    with pytest.raises(SystemExit) as stopped:
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'hub.db'}", "HUB_ENV": "production"})
    assert stopped.value.code == 4
    assert [p.split()[0] for p in stopped.value.problems] == ["HUB_SECRET_KEYS", "REDIS_URL", "SECRET_KEY"]


@pytest.mark.slow
def test_check_prints_the_whole_check_and_leaves_no_embedded_redis(tmp_path: Path):
    env = _env(tmp_path)
    done = subprocess.run([sys.executable, "-m", "flask", "hub", "check"], env=env, capture_output=True, text=True,
                          timeout=60)

    assert done.returncode == 1, done.stdout + done.stderr  # an empty database: not at head yet
    assert "mode: embedded" in done.stdout
    assert "REDIS_URL: not set: an embedded redis-server (embedded mode)" in done.stdout
    assert "run `flask hub init-db`" in done.stdout
    assert "plugin merit" in done.stdout
    assert not _redis_servers_of(tmp_path), "the check's embedded redis-server outlived it"
    assert not list((tmp_path / "tmp").iterdir()), "temporary files left"

    subprocess.run([sys.executable, "-m", "flask", "hub", "init-db"], env=env, check=True, capture_output=True,
                   timeout=120)
    done = subprocess.run([sys.executable, "-m", "flask", "hub", "check"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr  # no worker yet is reported, not a problem
    assert "database: ok" in done.stdout and "workers: no worker is alive" in done.stdout
    assert not _redis_servers_of(tmp_path) and not list((tmp_path / "tmp").iterdir())


def test_healthz_and_readyz(hub_app, hub_db):
    from hub import jobs

    client = hub_app.test_client()
    assert client.get("/healthz").get_json()["status"] == "ok"
    response = client.get("/readyz")
    assert response.status_code == 503  # no worker is alive in the test run
    body = response.get_json()
    assert body["checks"] == {"database": "ok", "redis": "ok",
                              "workers": "no worker is alive (start `flask hub worker`)"}
    assert body["version"] == __import__("hub").__version__
    hub_app.extensions["hub"].redis.set(jobs.LIVENESS_PREFIX + "test-worker", "1", ex=30)
    response = client.get("/readyz")
    assert response.status_code == 200 and response.get_json()["ready"] is True


def test_metrics_and_readyz_report_a_database_that_is_down(hub_app, hub_redis_url: str, tmp_path: Path):
    folder = tmp_path / "db"
    folder.mkdir()
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{folder / 'hub.db'}",
                      "REDIS_URL": hub_redis_url, "HUB_SECRET_KEYS": Vault.generate_key(), "SECRET_KEY": "t"})
    shutil.rmtree(folder)  # the database file cannot be opened any more

    metrics = app.test_client().get("/metrics")
    assert metrics.status_code == 200
    assert "hub_database_up 0.0" in metrics.get_data(as_text=True)
    assert "hub_redis_up 1.0" in metrics.get_data(as_text=True)
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["checks"]["database"] == "does not answer (OperationalError)"


def _stops_cleanly(command: list[str], tmp_path: Path, port: int) -> subprocess.Popen:
    env = _env(tmp_path, HUB_INSECURE_COOKIES="1")
    log = (tmp_path / "up.log").open("w")
    proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)

    def answers() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    try:
        wait_until(answers, 90, "the hub to answer /healthz\n" + (tmp_path / "up.log").read_text()[-2000:])
        wait_until(lambda: len(descendants(proc.pid)) >= 3, 30, "the worker and the scheduler")
        assert _redis_servers_of(tmp_path), "the embedded redis-server"
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    return proc


def _nothing_left(proc: subprocess.Popen, tree: set[int], tmp_path: Path) -> None:
    wait_until(lambda: not any(alive(pid) for pid in tree), 45, "every process of the hub to stop")
    log = (tmp_path / "up.log").read_text()
    assert "Traceback" not in log, log[-3000:]
    wait_until(lambda: not _redis_servers_of(tmp_path), 10, "the embedded redis-server to stop")
    assert not list((tmp_path / "tmp").iterdir()), f"left in the temporary folder: {list((tmp_path / 'tmp').iterdir())}"


@pytest.mark.slow
def test_hub_up_stops_cleanly_on_sigterm(tmp_path: Path):
    port = free_port()
    up = _stops_cleanly([sys.executable, "-m", "flask", "hub", "up", "--port", str(port)], tmp_path, port)
    tree = descendants(up.pid) | {up.pid}
    up.send_signal(signal.SIGTERM)
    assert up.wait(timeout=45) == 0
    _nothing_left(up, tree, tmp_path)


@pytest.mark.slow
def test_make_run_stops_everything_when_make_is_signalled(tmp_path: Path):
    port = free_port()
    make = _stops_cleanly(["make", "--no-print-directory", "run", f"PORT={port}"], tmp_path, port)
    tree = descendants(make.pid) | {make.pid}
    make.send_signal(signal.SIGTERM)
    make.wait(timeout=45)
    _nothing_left(make, tree, tmp_path)


def test_the_version_is_shown_everywhere(hub_app, hub_db):
    import hub

    client = hub_app.test_client()
    assert client.get("/api/v1/openapi.json").get_json()["info"]["version"] == hub.__version__
    assert f"Integration Hub {hub.__version__}</footer>" in client.get("/login").get_data(as_text=True)
    printed = hub_app.test_cli_runner().invoke(args=["hub", "--version"]).output
    assert printed.startswith(f"hub {hub.__version__} (plugin contract {hub.HUB_API_VERSION})\n")
    assert "  hub-merit 0.1.0\n" in printed


@pytest.mark.slow
def test_sandbox_prints_its_credentials_and_route_and_stops_cleanly(tmp_path: Path):
    proc = subprocess.Popen([sys.executable, "-m", "flask", "hub", "sandbox", "merit"], env=_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        lines = []
        while not any(line.startswith("  api_key: ") for line in lines):
            line = proc.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        origin = next(line.split("=", 1)[1].strip() for line in lines if line.startswith("  HUB_MERIT_ORIGIN="))
        assert lines[0] == f"merit sandbox on {origin}\n"
        assert any(line.startswith("  api_id: ") for line in lines)
        with pytest.raises(urllib.error.HTTPError):  # the sandbox answers (a request without credentials: 4xx)
            urllib.request.urlopen(origin + "/api/v1/getcustomers", timeout=5)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert "Traceback" not in proc.stdout.read()
    wait_until(lambda: not _redis_servers_of(tmp_path), 10, "the embedded redis-server to stop")
    assert not list((tmp_path / "tmp").iterdir())


def test_the_metrics_folder_loses_the_files_of_dead_processes(tmp_path: Path):
    from hub import metrics

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    for name in (f"counter_{dead.pid}.db", f"histogram_{dead.pid}.db", f"counter_{os.getpid()}.db"):
        (tmp_path / name).write_bytes(b"")
    assert sorted(metrics.clean_multiprocess_dir(str(tmp_path))) == [f"counter_{dead.pid}.db",
                                                                      f"histogram_{dead.pid}.db"]
    assert [p.name for p in tmp_path.iterdir()] == [f"counter_{os.getpid()}.db"]
