"""deploy.local without servers: configuration rendering, toolchain messages, cache, processes, probes."""

from __future__ import annotations

import base64
import os
import socket
import stat
import struct
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.local import cli, kafka, maven, neo4j, probes, processes, servers, toolchain
from deploy.local.cache import BuildError, CacheEntry
from deploy.local.config import ConfigError, Settings
from deploy.local.ferret import (
    MAIN_GO,
    PATCHED_SOURCE,
    FerretDBServer,
    SourcePatch,
    apply_patches,
    build_commands,
    fetch_commands,
)
from deploy.local.kafka import KafkaServer
from deploy.local.neo4j import Neo4jServer

PORT_VARIABLES = (
    "CIVICGRID_KAFKA_PORT",
    "CIVICGRID_KAFKA_CONTROLLER_PORT",
    "CIVICGRID_NEO4J_PORT",
    "CIVICGRID_MONGO_PORT",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Empty cache and state directories, and ports nothing listens on."""
    monkeypatch.setenv("CIVICGRID_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CIVICGRID_STATE", str(tmp_path / "state"))
    for variable in PORT_VARIABLES:
        monkeypatch.setenv(variable, str(free_port()))
    return Settings.from_env()


def properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


# --- configuration -----------------------------------------------------------------------


def test_default_settings_use_the_standard_ports_and_a_cache_outside_the_repo() -> None:
    settings = Settings.from_env({})
    assert (settings.kafka_port, settings.kafka_controller_port) == (9092, 9093)
    assert (settings.neo4j_port, settings.mongo_port) == (7687, 27017)
    assert settings.cache_dir == Path.home().resolve() / ".cache" / "civicgrid"
    assert settings.state_dir.name == ".local"


def test_port_variables_move_every_server_and_its_connection_url() -> None:
    settings = Settings.from_env(
        {
            "CIVICGRID_KAFKA_PORT": "19092",
            "CIVICGRID_KAFKA_CONTROLLER_PORT": "19093",
            "CIVICGRID_NEO4J_PORT": "17687",
            "CIVICGRID_MONGO_PORT": "27019",
        }
    )
    assert settings.connection_env() == {
        "CIVICGRID_KAFKA_BOOTSTRAP": "127.0.0.1:19092",
        "CIVICGRID_NEO4J_URI": "bolt://127.0.0.1:17687",
        "CIVICGRID_MONGO_URI": "mongodb://127.0.0.1:27019",
    }


def test_a_port_variable_that_is_not_a_number_is_rejected_by_name() -> None:
    with pytest.raises(ConfigError, match="CIVICGRID_NEO4J_PORT"):
        Settings.from_env({"CIVICGRID_NEO4J_PORT": "seven"})


def test_kafka_and_its_controller_cannot_share_a_port() -> None:
    with pytest.raises(ConfigError, match="must differ"):
        Settings.from_env({"CIVICGRID_KAFKA_PORT": "9092", "CIVICGRID_KAFKA_CONTROLLER_PORT": "9092"})


def test_kafka_properties_describe_one_combined_kraft_node_on_loopback(tmp_path: Path) -> None:
    props = properties(kafka.render_server_properties(19092, 19093, tmp_path / "data"))
    assert props["process.roles"] == "broker,controller"
    assert props["controller.quorum.bootstrap.servers"] == "127.0.0.1:19093"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert props["log.dirs"] == str(tmp_path / "data")


def test_kafka_internal_topics_need_only_one_replica() -> None:
    props = properties(kafka.render_server_properties(9092, 9093, Path("/data")))
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["transaction.state.log.replication.factor"] == "1"
    assert props["transaction.state.log.min.isr"] == "1"
    assert props["group.initial.rebalance.delay.ms"] == "0"
    assert props["auto.create.topics.enable"] == "true"


def test_kafka_cluster_id_is_sixteen_bytes_of_url_safe_base64() -> None:
    cluster_id = kafka.new_cluster_id()
    assert len(cluster_id) == 22
    assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


def test_kafka_logs_through_the_slf4j_1_binding_of_the_log4j_it_ships_with() -> None:
    pom = maven.render_pom("kafka-runtime", kafka.DEPENDENCIES)
    assert "<artifactId>log4j-slf4j-impl</artifactId><version>2.24.3</version>" in pom
    assert "slf4j2" not in pom
    assert "<artifactId>kafka_2.13</artifactId><version>4.1.1</version>" in pom
    assert "rootLogger.level = INFO" in kafka.render_log4j2()


def test_kafka_runs_with_a_modest_heap_and_the_generated_log4j_config(isolated: Settings) -> None:
    argv = KafkaServer(isolated).argv({"java": "/usr/bin/java"})
    assert "-Xmx768m" in argv
    assert f"-Dlog4j2.configurationFile={isolated.state_dir / 'kafka' / 'log4j2.properties'}" in argv
    assert argv[-2:] == ["kafka.Kafka", str(isolated.state_dir / "kafka" / "server.properties")]


def test_neo4j_conf_serves_bolt_on_loopback_without_auth_or_http(tmp_path: Path) -> None:
    conf = properties(neo4j.render_neo4j_conf(17687, tmp_path))
    assert conf["server.bolt.listen_address"] == "127.0.0.1:17687"
    assert conf["server.bolt.advertised_address"] == "127.0.0.1:17687"
    assert conf["dbms.security.auth_enabled"] == "false"
    assert conf["server.http.enabled"] == "false"
    assert conf["server.memory.pagecache.size"] == "512m"
    assert conf["server.directories.data"] == str(tmp_path / "data")


def test_neo4j_runs_the_community_entry_point_with_the_launcher_flags(isolated: Settings) -> None:
    argv = Neo4jServer(isolated).argv({"java": "java"})
    assert "org.neo4j.server.CommunityEntryPoint" in argv
    assert "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED" in argv
    assert "-Xmx1g" in argv
    assert "--console-mode" in argv


def test_ferretdb_is_built_from_the_wrapper_module_at_the_pinned_version() -> None:
    assert ["go", "get", "github.com/FerretDB/FerretDB@v1.24.2"] in fetch_commands("go")
    steps = build_commands("go")
    assert steps[0] == ["go", "mod", "edit", f"-replace=github.com/FerretDB/FerretDB=./{PATCHED_SOURCE}"]
    assert steps[-1][:2] == ["go", "build"]
    assert "ferretdb.New(" in MAIN_GO.read_text()


def test_a_patch_replaces_its_exact_text_in_the_module_source(tmp_path: Path) -> None:
    source = tmp_path / "internal" / "x.go"
    source.parent.mkdir(parents=True)
    source.write_text("a := \"->'$._id'\"\n")
    apply_patches(tmp_path, (SourcePatch("internal/x.go", "'$._id'", '"_id"', "why"),))
    assert source.read_text() == 'a := "->"_id""\n'


def test_a_patch_whose_text_is_missing_stops_the_build_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "x.go").write_text("nothing to see\n")
    with pytest.raises(BuildError, match=r"x\.go"):
        apply_patches(tmp_path, (SourcePatch("x.go", "absent", "present", "why"),))


# --- toolchain ---------------------------------------------------------------------------


def test_missing_maven_is_reported_by_name_with_its_debian_package_and_the_docker_alternative() -> None:
    with pytest.raises(toolchain.ToolchainError) as caught:
        toolchain.require(["java", "mvn"], which=lambda name: None if name == "mvn" else f"/usr/bin/{name}")
    message = str(caught.value)
    assert caught.value.missing == ("mvn",)
    assert message.startswith("Missing tool: mvn")
    assert "apt-get install maven" in message
    assert "docker compose up" in message


def test_every_missing_tool_is_named_at_once() -> None:
    with pytest.raises(toolchain.ToolchainError) as caught:
        toolchain.require(["java", "mvn", "go"], needed_for=["kafka", "ferretdb"], which=lambda name: None)
    assert caught.value.missing == ("java", "mvn", "go")
    assert "openjdk-17-jre-headless" in str(caught.value)
    assert "Go 1.24" in str(caught.value)
    assert "kafka, ferretdb" in str(caught.value)


def test_java_home_is_preferred_over_the_path(tmp_path: Path) -> None:
    java = tmp_path / "bin" / "java"
    java.parent.mkdir()
    java.write_text("#!/bin/sh\n")
    java.chmod(0o755)
    found = toolchain.find_tool("java", {"JAVA_HOME": str(tmp_path)}, which=lambda name: "/usr/bin/java")
    assert found == str(java)


@pytest.mark.parametrize(
    ("output", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('openjdk version "21" 2023-09-19', 21),
        ('java version "1.8.0_392"', 8),
        ("nonsense", None),
    ],
)
def test_java_major_version_is_read_from_both_version_formats(output: str, major: int | None) -> None:
    assert toolchain.parse_java_major(output) == major


def test_java_older_than_17_is_refused_with_the_reason(tmp_path: Path) -> None:
    fake = tmp_path / "java"
    fake.write_text("#!/bin/sh\necho 'openjdk version \"11.0.22\" 2024-01-16' >&2\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    with pytest.raises(toolchain.ToolchainError, match="Java 11; Kafka 4 and Neo4j 5 need Java 17"):
        toolchain.check_java(str(fake))


def test_up_without_the_toolchain_exits_with_status_2_and_names_what_is_missing(
    isolated: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(toolchain, "find_tool", lambda name, env=None, which=None: None)
    assert cli.main(["up"]) == cli.EXIT_TOOLCHAIN
    err = capsys.readouterr().err
    assert "Missing tools: java, mvn, go" in err
    assert "docker compose up -d kafka neo4j mongodb" in err
    assert not (isolated.state_dir / "kafka" / "kafka.pid").exists()


# --- cache ---------------------------------------------------------------------------------


def test_a_cache_entry_is_complete_only_once_marked_with_the_same_fingerprint(tmp_path: Path) -> None:
    entry = CacheEntry(tmp_path, "abc")
    assert not entry.is_complete()
    entry.mark_complete()
    assert entry.is_complete()
    assert not CacheEntry(tmp_path, "changed-pom").is_complete()
    entry.invalidate()
    assert not entry.is_complete()


def test_a_complete_jar_cache_needs_only_java_to_start(isolated: Settings) -> None:
    kafka_server, neo4j_server = KafkaServer(isolated), Neo4jServer(isolated)
    assert servers.required_tools([kafka_server, neo4j_server]) == ["java", "mvn"]
    for server in (kafka_server, neo4j_server):
        server.cache_root.mkdir(parents=True)
        maven.lib_entry(server.cache_root, server.pom).mark_complete()
    assert kafka_server.is_installed()
    assert servers.required_tools([kafka_server, neo4j_server]) == ["java"]


def test_a_built_ferretdb_needs_no_go_unless_its_source_changed(isolated: Settings) -> None:
    server = FerretDBServer(isolated)
    assert server.tools_to_install() == ["go"]
    server.cache_root.mkdir(parents=True)
    server.binary.write_bytes(b"")
    server.cache_entry().mark_complete()
    assert server.tools_to_install() == []
    (server.cache_root / ".complete").write_text("fingerprint-of-an-older-main.go\n")
    assert server.tools_to_install() == ["go"]


# --- CLI -----------------------------------------------------------------------------------


def test_env_prints_export_lines_for_the_default_ports(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for variable in PORT_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    assert cli.main(["env"]) == 0
    assert capsys.readouterr().out == (
        "export CIVICGRID_KAFKA_BOOTSTRAP=127.0.0.1:9092\n"
        "export CIVICGRID_NEO4J_URI=bolt://127.0.0.1:7687\n"
        "export CIVICGRID_MONGO_URI=mongodb://127.0.0.1:27017\n"
    )


def test_env_for_one_server_prints_only_its_variable(
    isolated: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["env", "neo4j"]) == 0
    assert capsys.readouterr().out == f"export CIVICGRID_NEO4J_URI=bolt://127.0.0.1:{isolated.neo4j_port}\n"


def test_an_unknown_server_name_is_an_error(isolated: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["down", "mongod"]) == cli.EXIT_FAILURE
    assert "unknown server mongod" in capsys.readouterr().err


def test_status_shows_every_server_stopped_in_a_fresh_state_dir(
    isolated: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["status"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["SERVER", "VERSION", "STATE"]
    assert [line.split()[:3] for line in lines[1:]] == [
        ["kafka", "4.1.1", "stopped"],
        ["neo4j", "5.26.16", "stopped"],
        ["ferretdb", "1.24.2", "stopped"],
    ]
    assert cli.main(["status", "--check"]) == cli.EXIT_FAILURE


def test_a_port_held_by_a_foreign_process_is_reported_with_the_variable_that_moves_it(
    isolated: Settings,
) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", isolated.mongo_port))
        listener.listen()
        [row] = servers.status(["ferretdb"], settings=isolated)
        assert row.state == "port taken by another process"
        with pytest.raises(servers.StartupError, match="CIVICGRID_MONGO_PORT"):
            servers._check_ports_free(FerretDBServer(isolated))


# --- processes -----------------------------------------------------------------------------

SLEEPER = [sys.executable, "-c", "import time; print('sleeping', flush=True); time.sleep(60)"]


def test_a_started_process_is_detached_logged_and_stopped_by_its_pid_file(tmp_path: Path) -> None:
    pid_path, log_path = tmp_path / "s.pid", tmp_path / "s.log"
    pid = processes.start_process("sleeper", SLEEPER, log_path=log_path, pid_path=pid_path)
    try:
        assert pid_path.read_text().strip() == str(pid)
        assert processes.is_running(pid_path)
        assert os.getpgid(pid) == pid  # its own session and process group
        processes.wait_healthy(lambda: "sleeping" in log_path.read_text(), timeout=10)
        with pytest.raises(processes.AlreadyRunningError):
            processes.start_process("sleeper", SLEEPER, log_path=log_path, pid_path=pid_path)
    finally:
        assert processes.stop_process(pid_path, timeout=5)
    assert not processes.is_running(pid_path)
    assert not pid_path.exists()
    assert not (tmp_path / "s.pid.start").exists()
    assert "starting sleeper" in log_path.read_text()


def test_a_pid_reused_by_a_later_process_is_not_taken_for_ours(tmp_path: Path) -> None:
    pid_path = tmp_path / "reused.pid"
    pid_path.write_text(f"{os.getpid()}\n")
    start = processes._start_ticks(os.getpid())
    assert start is not None
    (tmp_path / "reused.pid.start").write_text(f"{start}\n")
    assert processes.read_pid(pid_path) == os.getpid()
    (tmp_path / "reused.pid.start").write_text(f"{start - 1}\n")
    assert processes.read_pid(pid_path) is None


def test_stopping_a_process_that_is_not_running_reports_false(tmp_path: Path) -> None:
    assert processes.stop_process(tmp_path / "none.pid") is False


def test_a_pid_file_naming_a_dead_process_is_not_running(tmp_path: Path) -> None:
    pid_path = tmp_path / "gone.pid"
    pid = processes.start_process("quick", ["true"], log_path=tmp_path / "q.log", pid_path=pid_path)
    processes.wait_healthy(lambda: not processes.is_running(pid_path), timeout=10)
    assert processes.read_pid(pid_path) is None
    assert pid > 0


def test_waiting_on_a_process_that_dies_fails_at_once_with_its_log_tail(tmp_path: Path) -> None:
    pid_path, log_path = tmp_path / "d.pid", tmp_path / "d.log"
    processes.start_process(
        "doomed", ["sh", "-c", "echo 'port already in use'; exit 3"], log_path=log_path, pid_path=pid_path
    )
    with pytest.raises(processes.ProcessExitedError, match=r"(?s)doomed exited.*port already in use"):
        processes.wait_healthy(lambda: False, timeout=30, pid_path=pid_path, log_path=log_path, name="doomed")


def test_waiting_times_out_with_the_last_probe_error(tmp_path: Path) -> None:
    def probe() -> bool:
        raise ConnectionRefusedError("refused")

    with pytest.raises(processes.HealthTimeoutError, match=r"slow was not healthy after 0 s.*refused"):
        processes.wait_healthy(probe, timeout=0.3, interval=0.1, name="slow")


def test_the_log_tail_keeps_the_last_lines(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_text("".join(f"line {i}\n" for i in range(100)))
    assert processes.tail(log, 2) == "line 98\nline 99"
    assert processes.tail(tmp_path / "missing.log") == ""


# --- probes --------------------------------------------------------------------------------


@pytest.fixture
def fake_server() -> Iterator[tuple[int, list[bytes]]]:
    """A one-connection TCP server whose reply is set by the test: (port, [reply])."""
    reply: list[bytes] = []
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(reply[0])

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], reply
    thread.join(timeout=5)
    listener.close()


def test_bolt_probe_reads_the_version_the_server_chose(fake_server: tuple[int, list[bytes]]) -> None:
    port, reply = fake_server
    reply.append(bytes([0, 0, 4, 5]))
    assert probes.bolt_handshake("127.0.0.1", port) == (5, 4)
    assert probes.BOLT_PROPOSALS[:4] == bytes([0, 4, 4, 5])


def test_mongo_probe_accepts_a_hello_reply_with_ok_1(fake_server: tuple[int, list[bytes]]) -> None:
    port, reply = fake_server
    doc = b"\x08isWritablePrimary\x00\x01" + b"\x01ok\x00" + struct.pack("<d", 1.0)
    body = struct.pack("<I", 0) + b"\0" + struct.pack("<i", len(doc) + 5) + doc + b"\0"
    reply.append(struct.pack("<iiii", 16 + len(body), 99, 1, probes.OP_MSG) + body)
    assert probes.mongo_ready("127.0.0.1", port)


def test_hello_is_sent_as_an_op_msg_with_a_bson_body() -> None:
    message = probes.mongo_op_msg({"hello": 1, "$db": "admin"}, request_id=5)
    length, request_id, response_to, opcode = struct.unpack_from("<iiii", message)
    assert (length, request_id, response_to, opcode) == (len(message), 5, 0, 2013)
    assert probes.bson_decode_top_level(message[21:]) == {"hello": 1, "$db": "admin"}


def test_bson_decoding_skips_nested_documents_and_arrays() -> None:
    nested = probes.bson_encode({"a": 1})
    doc = b"\x03sub\x00" + nested + b"\x04arr\x00" + nested + b"\x02name\x00\x03\x00\x00\x00hi\x00"
    encoded = struct.pack("<i", len(doc) + 5) + doc + b"\0"
    assert probes.bson_decode_top_level(encoded) == {"name": "hi"}


def test_kafka_metadata_probe_lists_the_brokers_of_a_v4_response() -> None:
    host = b"127.0.0.1"
    broker = struct.pack(">ih", 1, len(host)) + host + struct.pack(">ih", 9092, -1)
    payload = struct.pack(">iii", 7, 0, 1) + broker + struct.pack(">hi", -1, 1) + struct.pack(">i", 0)
    assert probes.parse_kafka_metadata_brokers(payload, correlation_id=7) == [(1, "127.0.0.1", 9092)]
    request = probes.kafka_metadata_request(correlation_id=7)
    assert struct.unpack_from(">ihhi", request) == (len(request) - 4, 3, 4, 7)


def test_a_closed_port_is_not_open() -> None:
    assert not probes.port_open("127.0.0.1", free_port())
