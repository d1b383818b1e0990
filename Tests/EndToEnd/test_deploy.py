"""Deployment: install-release.sh lays out releases under a root of the test's own (no root privileges needed),
switches `current`, prunes and refuses overwrites; the installed binary serves from its release directory; an
upgrade the server refuses switches `current` back; make-release.sh packs a tarball that installs; the systemd
unit passes `systemd-analyze verify`."""

import filecmp
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT, RunningServer, holdfast_binary

DEPLOY = ROOT / "deploy"
RELEASE_FILES = ["holdfast", "libHoldfastHandlerAPI.so", "libChatHandlers.so"]
ADMIN_TOKEN = "deploy-admin-token"


@pytest.fixture(scope="session")
def build_dir() -> Path:
    """The debug build directory: the binary under test with the plugin interface and handlers next to it."""
    directory = holdfast_binary().parent
    missing = [name for name in RELEASE_FILES if not (directory / name).is_file()]
    if missing:
        pytest.fail(f"{directory} lacks {missing}: run swift build --build-tests first")
    return directory


def clean_env(**extra) -> dict:
    """The test environment without HOLDFAST_* settings that would redirect the scripts' admin calls."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("HOLDFAST_")}
    env.pop("LD_LIBRARY_PATH", None)  # the release must find its libraries itself
    env.update(extra)
    return env


def install(root: Path, source: Path, version: str, *options, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(DEPLOY / "install-release.sh"), "--root", str(root), *options, str(source), version],
        env=env or clean_env(), capture_output=True, text=True, timeout=120)


def installed(root: Path, source: Path, version: str, *options) -> subprocess.CompletedProcess:
    result = install(root, source, version, *options)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def current(root: Path) -> str:
    return os.readlink(root / "current")


def releases(root: Path) -> set[str]:
    return {path.name for path in (root / "releases").iterdir()}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_install_lays_out_the_release_and_points_current_at_it(tmp_path, build_dir):
    root = tmp_path / "root"
    result = installed(root, build_dir, "1.0.0", "--no-upgrade")
    release = root / "releases" / "1.0.0"
    for name in RELEASE_FILES:
        assert filecmp.cmp(build_dir / name, release / name, shallow=False), name
    assert os.access(release / "holdfast", os.X_OK)
    # Relative, so the tree can move; no staging leftovers beside the release.
    assert current(root) == "releases/1.0.0"
    assert releases(root) == {"1.0.0"}
    assert {path.name for path in root.iterdir()} == {"current", "releases", ".install.lock"}
    version = subprocess.run([str(root / "current" / "holdfast"), "--version"], env=clean_env(),
                             capture_output=True, text=True, check=True).stdout.strip()
    assert f"holdfast {version}" in result.stdout
    assert "first release" in result.stdout


def test_a_new_release_switches_current_and_keeps_the_old_one(tmp_path, build_dir):
    root = tmp_path / "root"
    installed(root, build_dir, "1.0.0", "--no-upgrade")
    result = installed(root, build_dir, "1.1.0", "--no-upgrade")
    assert current(root) == "releases/1.1.0"
    assert releases(root) == {"1.0.0", "1.1.0"}
    assert "(was 1.0.0)" in result.stdout


def test_an_installed_version_is_not_overwritten_without_force(tmp_path, build_dir):
    root = tmp_path / "root"
    installed(root, build_dir, "1.0.0", "--no-upgrade")
    first = (root / "releases" / "1.0.0" / "holdfast").stat().st_ino
    installed(root, build_dir, "2.0.0", "--no-upgrade")

    refused = install(root, build_dir, "1.0.0", "--no-upgrade")
    assert refused.returncode != 0 and "--force" in refused.stderr
    assert (root / "releases" / "1.0.0" / "holdfast").stat().st_ino == first
    assert current(root) == "releases/2.0.0"

    installed(root, build_dir, "1.0.0", "--no-upgrade", "--force")
    assert (root / "releases" / "1.0.0" / "holdfast").stat().st_ino != first
    assert current(root) == "releases/1.0.0"
    assert releases(root) == {"1.0.0", "2.0.0"}
    # The release that `current` points to is never replaced under a running server.
    refused = install(root, build_dir, "1.0.0", "--no-upgrade", "--force")
    assert refused.returncode != 0 and "current" in refused.stderr


def test_bad_versions_and_sources_are_refused(tmp_path, build_dir):
    root = tmp_path / "root"
    for version in ["../escape", ".hidden", "a b", ""]:
        assert install(root, build_dir, version, "--no-upgrade").returncode != 0, version
    incomplete = tmp_path / "incomplete"
    incomplete.mkdir()
    shutil.copy(build_dir / "holdfast", incomplete / "holdfast")
    result = install(root, incomplete, "1.0.0", "--no-upgrade")
    assert result.returncode != 0 and "libHoldfastHandlerAPI.so" in result.stderr
    assert not (root / "current").exists()
    assert not (root / "releases").exists() or releases(root) == set()


def test_keep_prunes_the_oldest_releases_but_never_the_previous_one(tmp_path, build_dir):
    root = tmp_path / "root"
    for version in ["1", "2", "3", "4"]:
        installed(root, build_dir, version, "--no-upgrade", "--keep", "2")
    assert releases(root) == {"3", "4"}
    assert current(root) == "releases/4"

    # 5 is current and 4 the previous one: --keep 1 still leaves both.
    result = installed(root, build_dir, "5", "--no-upgrade", "--keep", "1")
    assert releases(root) == {"4", "5"}
    assert "removing old release 3" in result.stdout


def test_upgrade_without_a_reachable_server_switches_current_back(tmp_path, build_dir):
    root = tmp_path / "root"
    installed(root, build_dir, "1.0.0")
    config = tmp_path / "holdfast.toml"
    config.write_text(f'[admin]\nlisten = "127.0.0.1:{free_port()}"\ntoken = "{ADMIN_TOKEN}"\n')
    result = install(root, build_dir, "1.1.0", "--config", str(config))
    assert result.returncode == 1, result.stdout + result.stderr
    assert current(root) == "releases/1.0.0"
    assert "cannot reach the admin listener" in result.stderr
    assert "current -> releases/1.0.0 again" in result.stderr
    # The failed release stays for inspection and is not pruned by the failed run.
    assert releases(root) == {"1.0.0", "1.1.0"}


def start_installed(root: Path, tmp_path: Path) -> RunningServer:
    """`<root>/current/holdfast serve` on loopback, the way the service starts it (through the symlink)."""
    env = clean_env(
        HOLDFAST_LISTEN="127.0.0.1:0", HOLDFAST_ADMIN_LISTEN="127.0.0.1:0", HOLDFAST_EVENT_LOOPS="2",
        HOLDFAST_STATE_DIR=str(tmp_path / "state"), HOLDFAST_ADMIN_TOKEN=ADMIN_TOKEN)
    process = subprocess.Popen([str(root / "current" / "holdfast"), "serve"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    server = RunningServer(process, env)
    if not server.listening.wait(15):
        server.stop()
        raise RuntimeError("installed server did not start:\n" + server.log())
    return server


def healthz(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
        return response.read().decode()


def admin_status(server: RunningServer) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{server.admin_port}/admin/status",
                                     headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_the_installed_binary_serves_from_its_release_directory(tmp_path, build_dir):
    root = tmp_path / "root"
    installed(root, build_dir, "1.0.0")
    server = start_installed(root, tmp_path)
    try:
        assert healthz(server.port) == "ok\n"
        release = root.resolve() / "releases" / "1.0.0"
        # The handler plugin and the plugin interface come from the release, not from the build.
        assert server.wait_for_log(f"path={release}/libChatHandlers.so")
        maps = Path(f"/proc/{server.process.pid}/maps").read_text()
        api = {line.split()[-1] for line in maps.splitlines() if line.endswith("libHoldfastHandlerAPI.so")}
        assert api == {str(release / "libHoldfastHandlerAPI.so")}
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=15) == 0
    finally:
        server.stop()


def test_upgrade_of_a_running_server_rolls_back_when_refused_and_hands_over_when_accepted(tmp_path, build_dir):
    root = tmp_path / "root"
    installed(root, build_dir, "1.0.0")
    server = start_installed(root, tmp_path)
    new_pid = None
    try:
        pid = server.process.pid
        admin = {"HOLDFAST_ADMIN_LISTEN": f"127.0.0.1:{server.admin_port}"}

        # A wrong token: the server answers, refuses, and the old process goes on serving.
        result = install(root, build_dir, "2.0.0", env=clean_env(HOLDFAST_ADMIN_TOKEN="wrong", **admin))
        assert result.returncode == 1, result.stdout + result.stderr
        assert "a valid bearer token is required" in result.stdout
        assert "its old process goes on serving" in result.stderr
        assert current(root) == "releases/1.0.0"
        assert healthz(server.port) == "ok\n" and server.process.poll() is None

        # The right token: the running server hands everything to a process running the new release.
        result = install(root, build_dir, "2.0.0", "--force",
                         env=clean_env(HOLDFAST_ADMIN_TOKEN=ADMIN_TOKEN, **admin))
        assert result.returncode == 0, result.stdout + result.stderr
        assert current(root) == "releases/2.0.0"
        new_pid = admin_status(server)["pid"]
        assert new_pid != pid
        assert os.readlink(f"/proc/{new_pid}/exe") == str(root.resolve() / "releases" / "2.0.0" / "holdfast")
        assert healthz(server.port) == "ok\n"
    finally:
        server.stop()
        if new_pid:
            stop_pid(new_pid)


def stop_pid(pid: int):
    """SIGTERM to a server that a binary upgrade started (not a child of this test), then wait for it to go."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


def test_make_release_packs_a_tarball_that_installs(tmp_path, build_dir):
    result = subprocess.run(
        [str(DEPLOY / "make-release.sh"), "--from", str(build_dir), "--output", str(tmp_path / "dist"), "3.0.0-rc.1"],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    tarball = Path(result.stdout.strip().splitlines()[-1])
    assert re.fullmatch(r"holdfast-3\.0\.0-rc\.1-linux-[a-z0-9_]+\.tar\.gz", tarball.name)
    top = tarball.name.removesuffix(".tar.gz")
    with tarfile.open(tarball) as archive:
        assert sorted(archive.getnames()) == sorted([top] + [f"{top}/{name}" for name in RELEASE_FILES])

    root = tmp_path / "root"
    installed(root, tarball, "3.0.0-rc.1", "--no-upgrade")
    assert current(root) == "releases/3.0.0-rc.1"
    for name in RELEASE_FILES:
        assert filecmp.cmp(build_dir / name, root / "releases" / "3.0.0-rc.1" / name, shallow=False), name


def test_a_release_with_the_swift_runtime_carries_it_into_the_release_directory(tmp_path, build_dir):
    result = subprocess.run(
        [str(DEPLOY / "make-release.sh"), "--from", str(build_dir), "--output", str(tmp_path / "dist"),
         "--with-swift-runtime", "3.1.0"],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    tarball = Path(result.stdout.strip().splitlines()[-1])
    root = tmp_path / "root"
    installed(root, tarball, "3.1.0", "--no-upgrade")
    release = root / "releases" / "3.1.0"
    assert {"libswiftCore.so", "libswift_Concurrency.so", *RELEASE_FILES} <= {path.name for path in release.iterdir()}
    assert subprocess.run([str(root / "current" / "holdfast"), "--version"], env=clean_env()).returncode == 0


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
def test_scripts_pass_shellcheck():
    result = subprocess.run(["shellcheck", *map(str, sorted(DEPLOY.glob("*.sh")))], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_unit_verifies(tmp_path, build_dir):
    # verify checks that ExecStart= exists, so the unit's release paths point into a stand-in root here.
    opt = tmp_path / "opt" / "holdfast"
    (opt / "current").mkdir(parents=True)
    (opt / "current" / "holdfast").symlink_to(build_dir / "holdfast")
    unit = tmp_path / "holdfast.service"
    unit.write_text((DEPLOY / "holdfast.service").read_text().replace("/opt/holdfast", str(opt)))
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit)],
                            capture_output=True, text=True, timeout=60)
    complaints = [line for line in (result.stdout + result.stderr).splitlines() if "holdfast" in line]
    assert result.returncode == 0 and not complaints, result.stdout + result.stderr


def unit_settings(text: str) -> dict[str, str]:
    """`Key=value` lines of a unit file by key (the units here set each key once), comments dropped."""
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))
    return {key: value for key, value in pairs}


def test_cluster_template_unit_differs_from_the_single_unit_only_per_instance():
    # The template repeats the single-node unit without its comments; this keeps the two from drifting apart.
    single = unit_settings((DEPLOY / "holdfast.service").read_text())
    template = unit_settings((DEPLOY / "holdfast@.service").read_text())
    per_instance = {"Description", "After", "StateDirectory", "Environment", "ExecStart", "ExecReload"}
    assert set(single) == set(template)
    assert {key for key in single if single[key] != template[key]} == per_instance
    for key in ("StateDirectory", "Environment", "ExecStart", "ExecReload"):
        assert "%i" in template[key], key


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_cluster_template_unit_verifies_as_an_instance(tmp_path, build_dir):
    opt = tmp_path / "opt" / "holdfast"
    (opt / "current").mkdir(parents=True)
    (opt / "current" / "holdfast").symlink_to(build_dir / "holdfast")
    text = (DEPLOY / "holdfast@.service").read_text().replace("/opt/holdfast", str(opt))
    (tmp_path / "holdfast@.service").write_text(text)
    # verify resolves an instance name against the template file beside it.
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", str(tmp_path / "holdfast@2.service")],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)
    complaints = [line for line in (result.stdout + result.stderr).splitlines() if "holdfast" in line]
    assert result.returncode == 0 and not complaints, result.stdout + result.stderr
