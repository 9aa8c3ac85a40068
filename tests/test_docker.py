"""The Docker packaging, checked without a Docker engine.

No engine runs here, so each part is checked by what it does outside Docker:
docker-compose.yml and the Dockerfile are parsed and held against the configuration
defaults; the Dockerfile's own pip commands install the package into a clean
virtualenv, whose ``nuki2mqtt`` is then run as the image's ENTRYPOINT + CMD would run
it (and stopped with SIGTERM, as ``docker stop`` does); the HEALTHCHECK command runs
against real HTTP servers; mosquitto runs with the stack's mosquitto.conf.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, Iterator

import paho.mqtt.client as paho
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from nuki2mqtt import __version__
from nuki2mqtt.broker import LocalBroker, free_port, wait_for_port
from nuki2mqtt.config import ENV_CONFIG_PATH, MqttConfig, load_config, parse_config
from tests.mqtt_recorder import MqttRecorder

REPO = Path(__file__).resolve().parent.parent
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
COMPOSE = REPO / "docker-compose.yml"
MOSQUITTO_CONF = REPO / "docker" / "mosquitto" / "mosquitto.conf"
ENV_EXAMPLE = REPO / ".env.example"
CONFIG_EXAMPLE = REPO / "config.example.yaml"
DOCS = REPO / "docs" / "docker.md"

# Building the virtualenv takes ~10 s with pip's cache; a hang must not eat the suite's time.
pytestmark = pytest.mark.timeout(90)

DEFAULT_SERVER_PORT = parse_config({}, env={}).server.port
DEFAULT_MQTT_PORT = MqttConfig().port
# What config.example.yaml needs from the environment (as in tests/config/test_config.py).
EXAMPLE_ENV = {
    "MQTT_PASSWORD": "example-mqtt-pw",
    "NUKI_BRIDGE_TOKEN": "example-bridge-token",
    "NUKI_WEB_TOKEN": "example-web-token",
    "NUKI_WEBHOOK_SECRET": "example-webhook-secret",
}


# =============================================================================== Dockerfile parsing


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case
    args: str
    stage: int  # 0 = the first FROM

    def exec_form(self) -> list[str]:
        """The JSON array of an exec-form instruction (fails on shell form)."""
        value = json.loads(self.args)
        assert isinstance(value, list) and all(isinstance(v, str) for v in value), self.args
        return value


def parse_dockerfile(text: str) -> list[Instruction]:
    """Instructions with their continuation lines joined; comments dropped."""
    instructions: list[Instruction] = []
    stage = -1
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue  # also comment lines inside a continued instruction, as Docker does
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, args = full.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        instructions.append(Instruction(keyword, args.strip(), stage))
    assert not pending, "the Dockerfile ends inside a continued instruction"
    return instructions


def dockerfile() -> list[Instruction]:
    return parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))


def final_stage(instructions: list[Instruction]) -> list[Instruction]:
    last = max(i.stage for i in instructions)
    return [i for i in instructions if i.stage == last]


def only(instructions: list[Instruction], keyword: str) -> Instruction:
    found = [i for i in instructions if i.keyword == keyword]
    assert len(found) == 1, f"expected one {keyword}, found {len(found)}"
    return found[0]


def healthcheck_command(instructions: list[Instruction]) -> list[str]:
    """The HEALTHCHECK's CMD as an exec-form argument list."""
    check = only(final_stage(instructions), "HEALTHCHECK")
    options, sep, command = check.args.partition("CMD ")
    assert sep, "HEALTHCHECK needs a CMD"
    return Instruction("CMD", command, check.stage).exec_form()


def pip_command(instructions: list[Instruction], stage: int, verb: str) -> list[str]:
    """The ``pip <verb> ...`` command of a stage's RUN lines, as argv (first match)."""
    for instruction in instructions:
        if instruction.stage != stage or instruction.keyword != "RUN":
            continue
        for part in re.split(r"\|\||&&|;|\{|\}", instruction.args):
            words = [w for w in shlex.split(part) if not w.startswith("--mount=")]
            if words[:2] == ["pip", verb]:
                return words
    raise AssertionError(f"no `pip {verb}` in stage {stage}")


# ========================================================================= Dockerfile checks


def test_dockerfile_builds_a_wheel_in_a_builder_stage_and_installs_it_in_a_slim_image() -> None:
    instructions = dockerfile()
    froms = [i.args for i in instructions if i.keyword == "FROM"]
    assert froms == ["python:3.11-slim AS builder", "python:3.11-slim"]

    wheel = pip_command(instructions, 0, "wheel")
    assert wheel[-1] == ".", "the builder builds the repository's own package"
    assert "-r" not in wheel and "--requirement" not in wheel, "dependencies come from setup.cfg, not a list"

    install = pip_command(instructions, 1, "install")
    assert "--no-cache-dir" in install and "--no-index" in install
    positional = [w for w, before in zip(install[2:], install[1:-1], strict=True) if not w.startswith("-")
                  and before not in ("--find-links", "-f")]
    assert positional == ["nuki2mqtt"], "only the package itself: its dependencies come from its metadata"


def test_final_stage_has_no_build_tree_compilers_or_copied_wheels() -> None:
    final = final_stage(dockerfile())
    assert not [i for i in final if i.keyword in ("COPY", "ADD")], "the wheels come in through a mount only"
    runs = " ".join(i.args for i in final if i.keyword == "RUN")
    assert "apt-get" not in runs and "apk " not in runs, "no packages (e.g. compilers) installed in the image"
    mounts = [i.args for i in final if i.keyword == "RUN" and "--mount=type=bind,from=builder" in i.args]
    assert len(mounts) == 1


def test_dockerfile_runtime_settings() -> None:
    final = final_stage(dockerfile())
    user = only(final, "USER").args
    assert user.split(":")[0] not in ("root", "0"), "the gateway must not run as root"
    assert re.search(r"useradd .*--uid 1000\b", " ".join(i.args for i in final if i.keyword == "RUN"))

    assert only(final, "VOLUME").exec_form() == ["/app/data"]
    env = " ".join(i.args for i in final if i.keyword == "ENV")
    assert f"{ENV_CONFIG_PATH}=/app/data/config.yaml" in env
    assert "PYTHONUNBUFFERED=1" in env
    assert only(final, "EXPOSE").args == str(DEFAULT_SERVER_PORT)
    assert only(final, "STOPSIGNAL").args == "SIGTERM"
    assert only(final, "ENTRYPOINT").exec_form() == ["nuki2mqtt"], "exec form: the gateway is PID 1"
    assert only(final, "CMD").exec_form() == ["run"]
    assert "nuki2mqtt = nuki2mqtt.cli:main" in (REPO / "setup.cfg").read_text(encoding="utf-8")


def test_dockerfile_healthcheck_asks_health_on_the_default_port() -> None:
    instructions = dockerfile()
    check = only(final_stage(instructions), "HEALTHCHECK").args
    for option in ("--interval=", "--timeout=", "--start-period=", "--retries="):
        assert option in check
    command = healthcheck_command(instructions)
    assert command[:2] == ["python", "-c"]
    assert "/health" in command[2] and f"'{DEFAULT_SERVER_PORT}'" in command[2]
    assert "127.0.0.1" in command[2] and "NUKI2MQTT_HEALTH_PORT" in command[2]


def test_dockerfile_labels_and_version() -> None:
    instructions = dockerfile()
    final = final_stage(instructions)
    labels = " ".join(i.args for i in final if i.keyword == "LABEL")
    for name in ("title", "description", "source", "licenses", "version"):
        assert f"org.opencontainers.image.{name}=" in labels
    assert 'org.opencontainers.image.version="${VERSION}"' in labels
    assert 'org.opencontainers.image.licenses="MIT"' in labels
    assert only(final, "ARG").args == f"VERSION={__version__}", "keep ARG VERSION in step with __version__"


# ====================================================================== .dockerignore


def dockerignore_patterns() -> list[tuple[bool, re.Pattern[str]]]:
    """(exclude?, regex) per line, with Go's filepath.Match meaning of * and ** and ?."""
    patterns = []
    for raw in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exclude = not line.startswith("!")
        glob = line.lstrip("!").strip("/")
        regex = ""
        i = 0
        while i < len(glob):
            if glob.startswith("**", i):
                regex += ".*"
                i += 2
            elif glob[i] == "*":
                regex += "[^/]*"
                i += 1
            elif glob[i] == "?":
                regex += "[^/]"
                i += 1
            else:
                regex += re.escape(glob[i])
                i += 1
        patterns.append((exclude, re.compile(regex + r"\Z")))
    return patterns


def ignored(path: str) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parent folders wins."""
    parts = path.split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    result = False
    for exclude, regex in dockerignore_patterns():
        if any(regex.match(c) for c in candidates):
            result = exclude
    return result


def builder_copy_sources() -> list[str]:
    sources: list[str] = []
    for instruction in dockerfile():
        if instruction.stage == 0 and instruction.keyword == "COPY":
            sources += shlex.split(instruction.args)[:-1]
    return sources


def test_dockerignore_keeps_secrets_and_tests_out_of_the_build_context() -> None:
    for path in (".env", "data/config.yaml", "config.yaml", ".git/config", "tests/test_docker.py",
                 "bench/run.py", ".venv/bin/python", "nuki2mqtt/__pycache__/config.cpython-311.pyc"):
        assert ignored(path), path
    sources = builder_copy_sources()
    assert sources, "the builder copies the package sources"
    for source in sources:
        assert (REPO / source).exists(), source
        assert not ignored(source), f"{source} is COPYed but excluded by .dockerignore"
    assert not ignored("nuki2mqtt/cli/run.py")


# ================================================================= docker-compose.yml


def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def interpolate(value: str) -> str:
    """Compose's interpolation for strings without variables: ``$$`` is a literal ``$``."""
    assert not re.search(r"\$[\w{]", value.replace("$$", "")), f"unescaped $ in {value!r}"
    return value.replace("$$", "$")


def port_pairs(service: dict[str, Any]) -> list[tuple[int, int]]:
    pairs = []
    for entry in service.get("ports", []):
        host, _, container = str(entry).partition(":")
        pairs.append((int(host), int(container)))
    return pairs


def test_compose_services_and_startup_order() -> None:
    services = compose()["services"]
    assert set(services) == {"mosquitto", "nuki2mqtt"}
    gateway = services["nuki2mqtt"]
    assert gateway["depends_on"] == {"mosquitto": {"condition": "service_healthy"}}
    assert gateway["restart"] == "unless-stopped"
    assert gateway["build"] in (".", {"context": "."})
    assert gateway["image"]
    env_file = gateway["env_file"]
    assert env_file == ".env" or env_file == [".env"]
    assert services["mosquitto"]["image"] == "eclipse-mosquitto:2"


def test_compose_ports_match_the_configuration_defaults() -> None:
    services = compose()["services"]
    assert port_pairs(services["nuki2mqtt"]) == [(DEFAULT_SERVER_PORT, DEFAULT_SERVER_PORT)]
    assert port_pairs(services["mosquitto"]) == [(DEFAULT_MQTT_PORT, DEFAULT_MQTT_PORT)]
    text = COMPOSE.read_text(encoding="utf-8")
    assert "advertise_url" in text and "# network_mode: host" in text, "both ways to reach the listener are documented"


def test_compose_volumes() -> None:
    data = compose()
    services = data["services"]
    assert "./data:/app/data" in services["nuki2mqtt"]["volumes"]
    mosquitto = services["mosquitto"]["volumes"]
    conf_mounts = [v for v in mosquitto if v.split(":")[1] == "/mosquitto/config/mosquitto.conf"]
    assert len(conf_mounts) == 1
    assert (REPO / conf_mounts[0].split(":")[0]).resolve() == MOSQUITTO_CONF
    named = [v.split(":")[0] for v in mosquitto if v.split(":")[1] == "/mosquitto/data"]
    assert named and named[0] in data["volumes"]


def test_compose_healthchecks() -> None:
    services = compose()["services"]
    for name, service in services.items():
        check = service["healthcheck"]
        assert check["test"] and check["interval"] and check["retries"], name

    gateway_test = services["nuki2mqtt"]["healthcheck"]["test"]
    assert gateway_test == ["CMD", *healthcheck_command(dockerfile())], "the same check as the image's"

    kind, command = services["mosquitto"]["healthcheck"]["test"]
    assert kind == "CMD-SHELL"
    argv = shlex.split(interpolate(command).replace(">/dev/null", ""))
    assert argv[0] == "mosquitto_sub"
    assert argv[argv.index("-p") + 1] == str(DEFAULT_MQTT_PORT)
    assert argv[argv.index("-t") + 1] == "$SYS/broker/uptime"
    assert argv[argv.index("-C") + 1] == "1" and argv[argv.index("-W") + 1] == "3"


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
    elif isinstance(value, str):
        yield value


def test_compose_variables_come_from_env_example() -> None:
    names = {name for s in strings(compose()) for name in re.findall(r"(?<!\$)\$\{(\w+)", s)}
    assert names, "the broker's health check logs in with the gateway's MQTT login"
    assert names <= set(env_example())


# ===================================================================== .env.example


def env_example() -> dict[str, str]:
    values = {}
    for raw in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, line
            values[name.strip()] = value.strip()
    return values


def test_env_example_names_every_variable_of_the_example_config_and_env_is_ignored() -> None:
    lines = [line.split("#", 1)[0] for line in CONFIG_EXAMPLE.read_text(encoding="utf-8").splitlines()]
    used = set(re.findall(r"\$\{(\w+)", "\n".join(lines)))
    assert used == set(EXAMPLE_ENV)
    assert used <= set(env_example())
    gitignore = (REPO / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert ".env" in gitignore and "data/" in gitignore


# ===================================================================== mosquitto.conf


def test_mosquitto_conf_settings() -> None:
    lines = [line.strip() for line in MOSQUITTO_CONF.read_text(encoding="utf-8").splitlines()]
    active = [line for line in lines if line and not line.startswith("#")]
    assert f"listener {DEFAULT_MQTT_PORT}" in active
    assert "set_tcp_nodelay true" in active
    assert "persistence true" in active
    assert "persistence_location /mosquitto/data/" in active
    assert "allow_anonymous true" in active
    assert "#password_file /mosquitto/data/passwd" in lines


def mosquitto_binary() -> str | None:
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.access(p, os.X_OK)), None
    )


@pytest.fixture
def stack_broker(tmp_path: Path) -> Iterator[int]:
    """mosquitto run with the stack's mosquitto.conf; only the port and data folder moved."""
    binary = mosquitto_binary()
    if binary is None:
        pytest.skip("mosquitto is not installed (apt-get install mosquitto)")
    port = free_port()
    # Started as root, mosquitto drops to its own user: the data folder must be its to write.
    data = Path(tempfile.mkdtemp(prefix="nuki2mqtt-stack-"))
    data.chmod(0o777)
    text = MOSQUITTO_CONF.read_text(encoding="utf-8")
    text = text.replace(f"\nlistener {DEFAULT_MQTT_PORT}\n", f"\nlistener {port} 127.0.0.1\n")
    text = text.replace("persistence_location /mosquitto/data/", f"persistence_location {data}/")
    assert str(port) in text and str(data) in text
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(text, encoding="utf-8")
    proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for_port("127.0.0.1", port, timeout=10)
        assert proc.poll() is None, "mosquitto refused the configuration"
        yield port
    finally:
        proc.terminate()
        output = proc.communicate(timeout=10)[0].decode(errors="replace")
        saved = (data / "mosquitto.db").exists()
        shutil.rmtree(data, ignore_errors=True)
    assert "Error" not in output and "Unknown configuration" not in output, output
    assert saved, "persistence: the broker saves its database on stop"


def first_uptime(port: int, username: str | None, password: str | None, timeout: float = 3.0) -> bytes:
    """What ``mosquitto_sub -t '$SYS/broker/uptime' -C 1 -W 3 [-u -P]`` waits for."""
    got: list[bytes] = []
    done = threading.Event()
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"health-{uuid.uuid4().hex[:8]}")
    if username is not None:
        client.username_pw_set(username, password)
    client.on_connect = lambda c, *a: c.subscribe("$SYS/broker/uptime")
    client.on_message = lambda c, u, msg: (got.append(bytes(msg.payload)), done.set())
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        assert done.wait(timeout), "no $SYS/broker/uptime within the health check's -W 3"
    finally:
        client.disconnect()
        client.loop_stop()
    return got[0]


def test_stack_mosquitto_runs_with_its_config_and_passes_its_health_check(stack_broker: int) -> None:
    assert first_uptime(stack_broker, None, None).endswith(b"seconds")
    # The gateway's login from config.example.yaml is accepted before a password file exists.
    user, password = env_example()["MQTT_USERNAME"], env_example()["MQTT_PASSWORD"]
    assert first_uptime(stack_broker, user, password).endswith(b"seconds")
    # ... and so is the health check's login while MQTT_USERNAME/MQTT_PASSWORD are empty.
    assert first_uptime(stack_broker, "", "").endswith(b"seconds")
    if shutil.which("mosquitto_sub"):  # the exact command too, where the clients are installed
        command = interpolate(compose()["services"]["mosquitto"]["healthcheck"]["test"][1])
        command = command.replace(f"-p {DEFAULT_MQTT_PORT}", f"-p {stack_broker}")
        env = {**os.environ, "MQTT_USERNAME": user, "MQTT_PASSWORD": password}
        assert subprocess.run(["sh", "-c", command], env=env, timeout=10).returncode == 0


# ============================================================ HEALTHCHECK command


class _HealthHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        code = self.server.status if self.path == "/health" else 404  # type: ignore[attr-defined]
        body = json.dumps({"status": "ok" if code == 200 else "down"}).encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@pytest.fixture
def health_server() -> Iterator[HTTPServer]:
    server = HTTPServer(("127.0.0.1", 0), _HealthHandler)
    server.status = 200  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def run_healthcheck(port: int, python: str = sys.executable) -> subprocess.CompletedProcess[str]:
    """The Dockerfile's HEALTHCHECK command, with the port override the image documents."""
    command = healthcheck_command(dockerfile())
    env = {**os.environ, "NUKI2MQTT_HEALTH_PORT": str(port)}
    return subprocess.run([python, *command[1:]], env=env, capture_output=True, text=True, timeout=15)


def test_healthcheck_command_against_a_health_endpoint(health_server: HTTPServer) -> None:
    port = health_server.server_address[1]
    assert run_healthcheck(port).returncode == 0

    health_server.status = 503  # type: ignore[attr-defined]
    result = run_healthcheck(port)
    assert result.returncode == 1
    assert "unhealthy: HTTP Error 503" in result.stdout and "Traceback" not in result.stdout + result.stderr

    health_server.shutdown()
    health_server.server_close()
    result = run_healthcheck(port)
    assert result.returncode == 1 and "unhealthy:" in result.stdout


# ============================================== the image's install, in a virtualenv


@dataclass(frozen=True)
class ImageVenv:
    root: Path
    bin: Path
    python: Path
    site_packages: Path

    def env(self, **extra: str) -> dict[str, str]:
        """A clean environment: nothing from this checkout is importable."""
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", ENV_CONFIG_PATH)}
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        return {**env, **extra}

    def entrypoint(self, *args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
        entrypoint = only(final_stage(dockerfile()), "ENTRYPOINT").exec_form()
        return subprocess.run([str(self.bin / entrypoint[0]), *entrypoint[1:], *args], cwd=cwd,
                              env=self.env(**env), capture_output=True, text=True, timeout=30)


@pytest.fixture(scope="module")
def image_venv(tmp_path_factory: pytest.TempPathFactory) -> ImageVenv:
    """The package installed exactly as the Dockerfile installs it, into a new virtualenv.

    The builder's COPY lines pick the sources, its ``pip wheel`` builds the wheels (pip's
    cache keeps this fast) and the final stage's ``pip install`` installs them, with no
    index and no pip configuration, as in the image.
    """
    tmp = tmp_path_factory.mktemp("image")
    instructions = dockerfile()
    context = tmp / "src"
    context.mkdir()
    for source in builder_copy_sources():
        src = REPO / source
        if src.is_dir():
            shutil.copytree(src, context / source, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(src, context / source)
    wheels = tmp / "wheels"

    def run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
        result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=80)
        assert result.returncode == 0, f"{argv}:\n{result.stdout}\n{result.stderr}"

    wheel = pip_command(instructions, 0, "wheel")
    run([sys.executable, "-m", *[str(wheels) if w == "/wheels" else w for w in wheel]], cwd=context)

    root = tmp / "venv"
    run([sys.executable, "-m", "venv", str(root)], cwd=tmp)
    venv = ImageVenv(root, root / "bin", root / "bin" / "python",
                     root / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages")
    install = pip_command(instructions, 1, "install")
    clean = {k: v for k, v in venv.env().items() if not k.startswith("PIP_")}
    clean["PIP_CONFIG_FILE"] = os.devnull  # the image's pip has no extra index or find-links
    run([str(venv.python), "-m", *[str(wheels) if w == "/wheels" else w for w in install]], cwd=tmp, env=clean)
    return venv


def test_installed_package_is_the_wheel_without_tests_or_bench(image_venv: ImageVenv, tmp_path: Path) -> None:
    result = subprocess.run([str(image_venv.python), "-c", "import nuki2mqtt, nacl, paho, yaml, voluptuous, "
                             "requests; print(nuki2mqtt.__file__)"],
                            cwd=tmp_path, env=image_venv.env(), capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).is_relative_to(image_venv.site_packages)
    assert not (image_venv.site_packages / "tests").exists()
    assert not (image_venv.site_packages / "bench").exists()
    record = next(image_venv.site_packages.glob("nuki2mqtt-*.dist-info")) / "RECORD"
    tops = {line.split("/", 1)[0] for line in record.read_text(encoding="utf-8").splitlines()}
    assert {t for t in tops if not t.endswith(".dist-info")} <= {"nuki2mqtt", "..", "bin"}, tops


def test_entrypoint_version(image_venv: ImageVenv, tmp_path: Path) -> None:
    result = image_venv.entrypoint("--version", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == f"nuki2mqtt {__version__}"


def test_entrypoint_check_config(image_venv: ImageVenv, tmp_path: Path) -> None:
    ok = image_venv.entrypoint("check-config", "-c", str(CONFIG_EXAMPLE), cwd=tmp_path, **EXAMPLE_ENV)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("config OK")

    # Without -c, as in the image: $NUKI2MQTT_CONFIG names the file in the data volume.
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(CONFIG_EXAMPLE, data / "config.yaml")
    via_env = image_venv.entrypoint("check-config", cwd=tmp_path, **EXAMPLE_ENV,
                                    **{ENV_CONFIG_PATH: str(data / "config.yaml")})
    assert via_env.returncode == 0, via_env.stderr

    broken = data / "config.yaml"
    broken.write_text("server:\n  port: 70000\nmqtt:\n  colour: blue\n", encoding="utf-8")
    bad = image_venv.entrypoint("check-config", cwd=tmp_path, **{ENV_CONFIG_PATH: str(broken)})
    assert bad.returncode == 2
    assert "server.port" in bad.stderr and "mqtt.colour" in bad.stderr
    assert "Traceback" not in bad.stderr

    missing = image_venv.entrypoint("check-config", cwd=tmp_path, **{ENV_CONFIG_PATH: str(data / "nope.yaml")})
    assert missing.returncode == 2 and "Traceback" not in missing.stderr


def test_entrypoint_run_is_healthy_and_stops_cleanly_on_sigterm(
    image_venv: ImageVenv, tmp_path: Path, broker: LocalBroker, simulator: Any, base_topic: str
) -> None:
    """``docker run`` then ``docker stop``: ENTRYPOINT + CMD with $NUKI2MQTT_CONFIG, then SIGTERM."""
    port = free_port()
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({
        "mqtt": {"host": broker.host, "port": broker.port, "base_topic": base_topic, "client_id": base_topic},
        "homeassistant": {"enabled": False},
        "bridges": [{"host": simulator.host, "port": simulator.port, "token": "${NUKI_BRIDGE_TOKEN}",
                     "poll_interval": 0}],
        "server": {"host": "127.0.0.1", "port": port},
    }), encoding="utf-8")
    load_config(config, env={"NUKI_BRIDGE_TOKEN": simulator.token})  # valid before it is run

    recorder = MqttRecorder.on(broker)
    recorder.subscribe(f"{base_topic}/status")
    final = final_stage(dockerfile())
    argv = [*only(final, "ENTRYPOINT").exec_form(), *only(final, "CMD").exec_form()]
    proc = subprocess.Popen([str(image_venv.bin / argv[0]), *argv[1:]], cwd=tmp_path,
                            env=image_venv.env(**{ENV_CONFIG_PATH: str(config),
                                                  "NUKI_BRIDGE_TOKEN": simulator.token}),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        recorder.wait_for(f"{base_topic}/status", lambda m: m.text == "online", timeout=15)
        deadline = time.monotonic() + 15
        while run_healthcheck(port, str(image_venv.python)).returncode != 0:
            assert time.monotonic() < deadline, "the HEALTHCHECK never passed"
            time.sleep(0.1)
        deadline = time.monotonic() + 15
        while not simulator.callback_urls:
            assert time.monotonic() < deadline, "the gateway registered no callback"
            time.sleep(0.05)
        assert simulator.callback_urls[0].startswith(f"http://127.0.0.1:{port}/callback/")

        mark = recorder.mark()
        proc.send_signal(signal.SIGTERM)  # what `docker stop` sends to PID 1
        output = proc.communicate(timeout=20)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        recorder.close()
    assert proc.returncode == 0, output
    assert "Traceback" not in output
    assert recorder.is_retained(recorder.wait_for(f"{base_topic}/status", lambda m: m.text == "offline", after=mark))
    assert simulator.callback_urls == [], "the bridge callback is removed on stop"
    assert simulator.token not in output, "no secret in the log"
    assert run_healthcheck(port, str(image_venv.python)).returncode == 1


# ========================================================================= docs/docker.md


def docs_config_block() -> str:
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    configs = [b for b in blocks if b.lstrip().startswith("mqtt:")]
    assert len(configs) == 1, "docs/docker.md shows one data/config.yaml"
    return configs[0]


def test_docs_config_is_valid_and_fits_the_compose_stack(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(docs_config_block(), encoding="utf-8")
    env = {**env_example(), "NUKI_BRIDGE_TOKEN": "abc123"}
    config = load_config(path, env=env)
    assert config.mqtt.host == "mosquitto", "the broker's compose service name"
    assert config.mqtt.username == env_example()["MQTT_USERNAME"]
    assert config.server.port == DEFAULT_SERVER_PORT
    assert config.server.advertise_url is not None
    assert config.server.advertise_url.endswith(f":{DEFAULT_SERVER_PORT}")


def test_docs_cover_the_quick_start_and_networking() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for needle in ("cp .env.example .env", "data/config.yaml", "docker compose up -d", "docker compose logs",
                   "/health", "network_mode: host", "advertise_url", "docker compose up -d --build",
                   "docker stop", "offline", "chown"):
        assert needle in text, needle
