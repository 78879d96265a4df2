"""The Docker image, built from the checkout with podman and run against the fake arena.

scripts/container-setup installs podman, runc and debootstrap when they are missing (as root,
with apt-get) and makes the base image (a debootstrapped Debian bookworm in place of Docker
Hub's debian:bookworm-slim, cached in /var/cache/lmarena-bridge and in podman's storage).
The container shares the host's network, so the bridge in it reaches the fake arena at its
http://127.0.0.1:PORT and the tests reach the bridge the same way. Run alone with
`scripts/test -m container`; the first run on a machine takes minutes (debootstrap, apt and pip
in the build), later ones reuse the cached base and layers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import openai
import pytest

from tests.bridge_process import free_port, wait_for
from tests.fake_arena import FakeArena, Reply

pytestmark = [pytest.mark.container, pytest.mark.timeout(1200)]

ROOT = Path(__file__).resolve().parent.parent
SETUP = ROOT / "scripts" / "container-setup"
IMAGE = "localhost/lmarena-bridge:test"
BRIDGE_UID = 1000
MODEL = "gpt-4o-2024-08-06"
STOP_SECONDS = 20
NO_BASE_IMAGE = 3  # scripts/container-setup's exit status without root for debootstrap


@dataclass
class Podman:
    """podman as the sandbox allows it: runc, cgroupfs, no default ulimits (containers.conf)."""

    base_image: str
    containers_conf: str

    def __call__(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = ["podman", "--runtime", "runc", "--cgroup-manager", "cgroupfs", *args]
        env = {**os.environ, "CONTAINERS_CONF": self.containers_conf}
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            output = (result.stdout[-4000:] + "\n" + result.stderr).strip()
            raise AssertionError(f"{' '.join(command)} exited with {result.returncode}:\n{output}")
        return result


@pytest.fixture(scope="module")
def podman() -> Podman:
    if shutil.which("podman") is None and (os.geteuid() != 0 or shutil.which("apt-get") is None):
        pytest.skip("podman is not installed and cannot be (scripts/container-setup needs root and apt-get)")
    setup = subprocess.run(["bash", str(SETUP)], capture_output=True, text=True, timeout=900)
    if shutil.which("podman") is None:
        pytest.skip(f"podman could not be installed:\n{setup.stderr}")
    if setup.returncode == NO_BASE_IMAGE:
        pytest.skip(f"no base image for the build:\n{setup.stderr}")
    assert setup.returncode == 0, setup.stderr
    base_image, containers_conf = setup.stdout.strip().splitlines()[-2:]
    tool = Podman(base_image, containers_conf)
    probe = tool("run", "--rm", "--network=host", tool.base_image, "true", check=False)
    if probe.returncode != 0:
        pytest.skip(f"podman cannot run a container on this machine:\n{probe.stderr}")
    return tool


@pytest.fixture(scope="module")
def image(podman: Podman) -> str:
    """The image built from the checkout; the previous build's image is removed once replaced."""
    before = podman("image", "inspect", "--format", "{{.Id}}", IMAGE, check=False).stdout.strip()
    podman(
        "build",
        "--format",
        "docker",
        "--pull=never",
        "--build-arg",
        f"BASE_IMAGE={podman.base_image}",
        "--tag",
        IMAGE,
        str(ROOT),
        timeout=1100,
    )
    after = podman("image", "inspect", "--format", "{{.Id}}", IMAGE).stdout.strip()
    if before and before != after:
        podman("rmi", before, check=False)
    return IMAGE


@dataclass
class Container:
    """One `podman run -d` of the image on the host network, with /app/data from the host."""

    podman: Podman
    name: str
    data: Path
    arena_url: str
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, image: str) -> Container:
        self.podman(
            "run",
            "--detach",
            "--name",
            self.name,
            "--network=host",
            "--shm-size=1g",
            "--env",
            f"PORT={self.port}",
            "--env",
            "HOST=127.0.0.1",
            "--env",
            f"LMARENA_BRIDGE_ARENA_URL={self.arena_url}",
            "--volume",
            f"{self.data}:/app/data",
            image,
        )
        wait_for(self.healthy, f"/health 200 from the container {self.name}", timeout=120)
        # With the default config the bridge reads the model list from the arena page just after
        # /health turns 200 (auto_update_models), and models.json starts empty.
        wait_for(self.lists_model, f"{MODEL} in /v1/models of the container {self.name}", timeout=30)
        return self

    def lists_model(self) -> bool:
        response = httpx.get(f"{self.url}/v1/models", timeout=5)
        return MODEL in {model["id"] for model in response.json()["data"]}

    def healthy(self) -> bool:
        if not self.running():
            raise AssertionError(f"container {self.name} exited:\n{self.logs()}")
        try:
            return httpx.get(f"{self.url}/health", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def running(self) -> bool:
        state = self.podman("inspect", "--format", "{{.State.Running}}", self.name, check=False).stdout
        return state.strip() == "true"

    def logs(self) -> str:
        result = self.podman("logs", self.name, check=False)
        return result.stdout + result.stderr

    def client(self) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{self.url}/v1", api_key="unused", max_retries=0, timeout=60)

    def terminate(self) -> tuple[int, float]:
        """SIGTERM to the container's PID 1; its exit code and the seconds it took to exit."""
        started = time.monotonic()
        self.podman("kill", "--signal", "TERM", self.name)
        code = self.podman("wait", self.name, timeout=STOP_SECONDS + 30).stdout.strip()
        return int(code), time.monotonic() - started

    def remove(self) -> None:
        self.podman("rm", "--force", "--time", "5", self.name, check=False)


def chat(container: Container, arena: FakeArena, text: str) -> str:
    arena.enqueue(Reply.text(text))
    with container.client() as client:
        try:
            answer = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hello"}])
        except openai.APIError as exc:
            raise AssertionError(f"{exc!r}\n{container.logs()}") from exc
    return answer.choices[0].message.content


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory, podman: Podman) -> Path:
    """An empty data folder the container's user may write, as `mkdir data` makes it for uid 1000."""
    data = tmp_path_factory.mktemp("container") / "data"
    data.mkdir()
    if os.geteuid() == 0:
        os.chown(data, BRIDGE_UID, BRIDGE_UID)
    else:
        podman("unshare", "chown", f"{BRIDGE_UID}:{BRIDGE_UID}", str(data))
    return data


@pytest.fixture(scope="module")
def container(image: str, podman: Podman, data_dir: Path, arena_server: FakeArena) -> Iterator[Container]:
    first = Container(podman, f"lmarena-bridge-test-{os.getpid()}", data_dir, arena_server.url)
    first.remove()
    try:
        yield first.start(image)
    finally:
        first.remove()


def test_the_image_runs_debian_python_and_chromium_as_an_unprivileged_user(podman, image):
    script = "id -u; python -c 'import sys; print(sys.version_info >= (3, 11))'; $LMARENA_BRIDGE_BROWSER --version"
    result = podman("run", "--rm", "--network=host", "--entrypoint", "sh", image, "-c", script)
    uid, python_ok, chromium = result.stdout.strip().splitlines()
    assert (uid, python_ok) == (str(BRIDGE_UID), "True")
    assert chromium.startswith("Chromium ") and "Debian" in chromium


HEADED_PROBE = """
from playwright.sync_api import sync_playwright
with sync_playwright() as p:
    browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=False)
    print(browser.new_page().evaluate("navigator.userAgent + ' ' + screen.width"))
    browser.close()
"""


def test_the_images_chromium_runs_headed_under_xvfb_for_the_virtual_display_mode(podman, image):
    result = podman(
        "run",
        "--rm",
        "--network=host",
        "--shm-size=1g",
        "--entrypoint",
        "tini",
        image,
        "--",
        "xvfb-run",
        "--auto-servernum",
        "python",
        "-c",
        HEADED_PROBE,
    )
    user_agent = result.stdout.strip()
    assert "Chrome/" in user_agent and "HeadlessChrome" not in user_agent
    assert user_agent.endswith(" 1280")  # xvfb-run's default screen, not a headless window's


def test_a_container_on_the_host_network_chats_with_the_openai_client(container, arena):
    assert chat(container, arena, "Hello from the container") == "Hello from the container"
    assert arena.requests[-1].problems == []


def test_the_data_volume_holds_the_default_config_and_the_browser_profile(container):
    config = container.data / "config.jsonc"
    assert config.read_text() == (ROOT / "config.jsonc").read_text()
    assert (container.data / "profile" / "Default").is_dir()
    assert {config.stat().st_uid, (container.data / "profile").stat().st_uid} == {BRIDGE_UID}


def test_the_image_healthcheck_passes_on_a_ready_container(container):
    result = container.podman("healthcheck", "run", container.name, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_sigterm_ends_the_container_with_exit_code_0_within_20_seconds(container):
    code, seconds = container.terminate()
    assert code == 0, container.logs()
    assert seconds < STOP_SECONDS
    assert "Application shutdown complete" in container.logs()


def test_a_new_container_on_the_same_volume_keeps_the_config_and_chats_again(container, image, arena):
    if container.running():
        container.terminate()
    container.remove()
    config = container.data / "config.jsonc"
    config.write_text("// edited between two containers\n" + config.read_text())
    second = Container(container.podman, container.name + "-again", container.data, container.arena_url)
    second.remove()
    try:
        second.start(image)
        assert chat(second, arena, "Hello again") == "Hello again"
        assert config.read_text().startswith("// edited between two containers\n")
    finally:
        second.remove()
