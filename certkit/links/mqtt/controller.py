"""The MQTT link: certkit's controller on paho-mqtt 2, and the bench it owns.

`MqttLink.open` brings up, in order and within the open deadline:

1. the broker: an embedded one (`broker.embedded`: mosquitto or amqtt) or the external
   `--mqtt-broker`;
2. the controller, a paho client subscribed to `homie/5/<device-id>/#`, and a
   second client that takes snapshots of what the broker retains;
3. the endpoint (`endpoint.Endpoint`) on `--mqtt-listen` or a free loopback
   port, with TLS when the profile requires it; its address is printed so a
   bench can point the DUT at it;
4. with `--emulate mqtt`, the reference emulator, pointed at the endpoint.

`close` stops them in reverse order, each step bounded.

Two views of the DUT are kept, both written into the evidence as they come:
`messages` is what the broker delivers to the controller (topic, payload,
QoS, retain flag, time), `dut` is what the DUT itself sent through the
endpoint (`dutlog.DutLog`). Every wait takes a deadline and returns None
when it passes; deciding whether that is the DUT's fault is the rule's job.
Whether the *bench* held up is the link's: `require_bench` raises
`LabError` when the broker is gone or dropped during a check, so a dead
broker ends a rule in `error`, never in `fail`.
"""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from certkit.bench import Bench
from certkit.checks import LabError
from certkit.evidence import EvidenceLog
from certkit.links.aio import LoopThread, bounded
from certkit.links.base import Link, LinkStateError
from certkit.links.mqtt import homie, tls
from certkit.links.mqtt.broker import (
    Credentials,
    EmbeddedBroker,
    accepts,
    embedded,
    external,
    is_embedded,
)
from certkit.links.mqtt.dutlog import BENCH_INCIDENTS, DutLog, Session
from certkit.links.mqtt.endpoint import Endpoint, Upstream
from certkit.links.mqtt.homie import HomieProperty, render
from certkit.links.mqtt.messages import Message, MessageLog
from certkit.profile.model import Profile
from certkit.report.progress import operator_line

CONTROLLER_CONNECT_S = 10.0
SNAPSHOT_TIMEOUT_S = 3.0
RECONNECT_GRACE_S = 3.0     # the controller's own reconnect, when the broker is up
PROBE_TIMEOUT_S = 2.0
AT_LEAST_S = 0.3            # a wait whose deadline has passed still looks once more
BROKER_WATCH_S = 0.1        # how often the embedded broker's process is looked at


@dataclass(frozen=True)
class BenchMark:
    """Where the bench stood when a check began (see `MqttLink.require_bench`)."""

    drops: int
    t: float


def _nodelay(client: paho.Client, userdata: Any, sock: Any) -> None:
    # Without it a QoS 1 echo waits for Nagle and delayed ACKs: 40-90 ms instead of ~1 ms.
    if isinstance(sock, socket.socket) or hasattr(sock, "setsockopt"):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class MqttLink(Link):
    transport = "mqtt"

    def __init__(self, profile: Profile, bench: Bench, evidence: EvidenceLog,
                 env: dict[str, str] | None = None) -> None:
        super().__init__(evidence)
        if profile.transports.mqtt is None:
            raise LabError("the profile declares no mqtt transport")
        self.profile = profile
        self.base = homie.base_topic(profile)
        self.tls_required = profile.transports.mqtt.tls == "required"
        self.bench = bench
        self.emulate = "mqtt" in bench.emulate
        self.env = dict(os.environ if env is None else env)
        self.credentials = Credentials.from_env(self.env)
        self.messages = MessageLog()
        self.dut = DutLog(evidence)
        self.broker: EmbeddedBroker | None = None
        self.upstream: Upstream | None = None
        self.bench_facts: dict[str, str] = {}  # which broker served the run, for the record
        self.endpoint: Endpoint | None = None
        self.offer: tls.Offer | None = None
        self.emulator: Any = None
        self.opened_t = time.monotonic()
        self.last_cut_t: float | None = None
        self.drops = 0
        self._loop = LoopThread("certkit-mqtt-endpoint")
        # What to stop when the link closes (each given its share of the time left).
        self._stops: list[tuple[str, Callable[[float], object]]] = []
        self._connected = threading.Event()
        self._subscribed = threading.Event()
        self._refused = threading.Event()
        self._connect_problem = ""
        self._client_id = f"certkit-{os.getpid()}-{secrets.token_hex(3)}"
        self._probe_topic = f"certkit/probe/{self._client_id}"
        self._probes = itertools.count(1)
        self.controller: paho.Client | None = None
        self._snapshot: paho.Client | None = None
        self._snapshot_lock = threading.Lock()
        self._snapshot_state: dict[str, Any] = {}

    # ------------------------------------------------------------ lifecycle

    def _open(self, timeout: float) -> None:
        started = time.monotonic()
        deadline = started + timeout
        try:
            self._loop.start()
            self._stops.append(("endpoint loop", self._loop.stop))
            self._start_broker(deadline)
            self._watch_bench()
            self._start_controller(deadline)
            self._start_endpoint(deadline)
            if self.emulate:
                self._start_emulator(deadline)
        except BaseException:
            self._stop_all(5.0)
            raise
        self.evidence.note(f"bench: MQTT link open in {(time.monotonic() - started) * 1000:.0f} ms")

    def _close(self, timeout: float) -> None:
        self._stop_all(timeout)

    def _stop_all(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self._stops:
            name, stop = self._stops.pop()
            share = (deadline - time.monotonic()) / (len(self._stops) + 1)
            try:
                stop(max(share, 0.1))
            except Exception as exc:  # noqa: BLE001 - keep stopping the rest: teardown must finish
                self.evidence.note(f"bench: stopping the {name} failed: {exc!r}")

    def _remaining(self, deadline: float, cap: float | None = None) -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise LabError("the MQTT link did not open in time")
        return min(left, cap) if cap else left

    def _start_broker(self, deadline: float) -> None:
        chosen = self.bench.settings("mqtt").get("broker")
        if not is_embedded(chosen):
            assert chosen is not None
            try:
                self.upstream = external(chosen)
            except (OSError, ValueError) as exc:
                raise LabError(f"--mqtt-broker {chosen}: cannot set up TLS "
                               f"({exc})") from None
            if not accepts(self.upstream.host, self.upstream.port, self._remaining(deadline, 3.0)):
                raise LabError(f"the MQTT broker at {self.upstream} does not accept connections")
            self.evidence.note(f"bench: external broker {self.upstream}; controller credentials: "
                               f"username {'set' if self.credentials.username else 'unset'}")
            self.bench_facts = {"mqtt-broker-served": f"external {self.upstream}"}
            return
        self.broker = embedded(chosen)
        self._stops.append(("embedded broker", self.broker.stop))
        self.broker.start(self._remaining(deadline, 15.0))
        self.upstream = self.broker.upstream
        self.bench_facts = {"mqtt-broker-served": self.broker.name}
        self.evidence.note(f"bench: {self.broker.name} broker on {self.upstream}, started in "
                           f"{(self.broker.start_s or 0) * 1000:.0f} ms")

    def _paho(self, role: str) -> paho.Client:
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"{self._client_id}-{role}",
                             protocol=paho.MQTTv311, clean_session=True)
        client.on_socket_open = _nodelay
        client.reconnect_delay_set(1, 2)
        if self.credentials.username:
            client.username_pw_set(self.credentials.username, self.credentials.password)
        assert self.upstream is not None
        if self.upstream.ssl is not None:
            client.tls_set_context(self.upstream.ssl)
        return client

    def _start_controller(self, deadline: float) -> None:
        assert self.upstream is not None
        client = self._paho("controller")
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = lambda c, u, mid, codes, props: self._subscribed.set()
        client.on_message = self._on_message
        client.connect_async(self.upstream.host, self.upstream.port, keepalive=15)
        client.loop_start()
        self.controller = client
        self._stops.append(("controller", lambda t: self._stop_client(client, t)))
        give_up = time.monotonic() + self._remaining(deadline, CONTROLLER_CONNECT_S)
        # A refusal (bad credentials, say) will not get better by waiting: stop at once.
        while not self._subscribed.wait(0.05):
            if self._refused.is_set() or time.monotonic() > give_up:
                problem = f": {self._connect_problem}" if self._connect_problem else ""
                raise LabError(f"certkit's controller could not connect and subscribe to the "
                               f"broker at {self.upstream}{problem}")
        snapshot = self._paho("snapshot")
        snapshot.on_message = self._on_snapshot_message
        connected = threading.Event()
        snapshot.on_connect = lambda c, u, f, rc, p: connected.set() if not rc.is_failure else None
        snapshot.connect_async(self.upstream.host, self.upstream.port, keepalive=15)
        snapshot.loop_start()
        self._snapshot = snapshot
        self._stops.append(("snapshot client", lambda t: self._stop_client(snapshot, t)))
        if not connected.wait(self._remaining(deadline, CONTROLLER_CONNECT_S)):
            raise LabError(f"certkit's snapshot client could not connect to {self.upstream}")
        if self.broker is None:
            self._clear_stale()

    def _clear_stale(self) -> None:
        """On a broker that outlives runs, retained messages of an earlier session must not
        pass for this one: certkit clears the DUT's tree before the DUT can connect."""
        stale = self.retained()
        for topic in stale:
            self.publish(topic, b"", retain=True)
        if stale:
            self.evidence.note(f"bench: cleared {len(stale)} retained message(s) under "
                               f"{self.base}/ left on the broker by an earlier session")

    def _start_endpoint(self, deadline: float) -> None:
        assert self.upstream is not None
        listen = self.bench.settings("mqtt").get("listen")
        host, port = (listen.host, listen.port) if listen else ("127.0.0.1", 0)
        if self.tls_required:
            if not self.emulate and not (self.env.get("CERTKIT_MQTT_SERVER_CERT")
                                         and self.env.get("CERTKIT_MQTT_SERVER_KEY")):
                raise LabError("the profile requires MQTT over TLS: give the endpoint a "
                               "certificate the DUT trusts in CERTKIT_MQTT_SERVER_CERT and "
                               "CERTKIT_MQTT_SERVER_KEY (PEM files)")
            folder = Path(tempfile.mkdtemp(prefix="certkit-mqtt-tls-"))
            self._stops.append(("TLS files", lambda t: shutil.rmtree(folder, ignore_errors=True)))
            self.offer = tls.make_offer(folder, host, self.env)
        endpoint = Endpoint(self._loop, host, port, self.upstream, self.dut, self.offer)
        endpoint.start(self._remaining(deadline, 5.0))
        self.endpoint = endpoint
        self._stops.append(("endpoint", endpoint.stop))
        self.opened_t = time.monotonic()
        backend = self.broker.name if self.broker else str(self.upstream)
        line = (f"MQTT endpoint for the DUT: {endpoint.url} (device topics under {self.base}/, "
                f"broker: {backend})")
        operator_line(f"certkit: {line}")  # above the live progress, never mid-line
        self.evidence.note(f"bench: {line}")

    def _start_emulator(self, deadline: float) -> None:
        import certkit_emulators.mqtt  # noqa: F401  (registers the emulator)
        from certkit_emulators import EMULATORS, UnknownFault
        from certkit_emulators.session import shared_state

        assert self.endpoint is not None
        host = self.endpoint.host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        try:
            emulator = EMULATORS["mqtt"](self.profile, self.bench.faults.get("mqtt", frozenset()),
                                         self.bench.variants.get("mqtt", frozenset()),
                                         host=host, port=self.endpoint.port,
                                         ca_file=self.offer.dut_ca if self.offer else None,
                                         state=shared_state(self.evidence, self.profile,
                                                            self.bench.faults.get(
                                                                "interop", frozenset())))
        except UnknownFault as exc:
            raise LabError(str(exc)) from None
        emulator.start(self._remaining(deadline, 5.0))
        self.emulator = emulator
        self._stops.append(("emulator", emulator.stop))
        faults = ", ".join(sorted(emulator.faults)) or "none"
        variants = ", ".join(sorted(emulator.variants)) or "none"
        self.evidence.note(f"bench: reference emulator started (faults: {faults}; "
                           f"variants: {variants})")

    @staticmethod
    def _stop_client(client: paho.Client, timeout: float) -> None:
        try:
            client.disconnect()
        except Exception:  # noqa: BLE001, S110 - already gone
            pass
        bounded(client.loop_stop, timeout, "paho-loop-stop")

    # ------------------------------------------------------------ paho callbacks (paho's thread)

    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any,
                    properties: Any) -> None:
        if reason.is_failure:
            self._connect_problem = f"the broker refused the connection ({reason})"
            self._refused.set()
            self.bench_fault("broker-refused", f"the broker refused certkit's controller "
                                               f"({reason})")
            return
        self._connected.set()
        client.subscribe([(f"{self.base}/#", 1), (self._probe_topic, 1)])

    def _on_connect_fail(self, client: paho.Client, userdata: Any) -> None:
        self._connect_problem = "the connection failed"

    def _on_disconnect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any,
                       properties: Any) -> None:
        if self._connected.is_set():
            self._connected.clear()
            self.drops += 1
            self.evidence.record("bench", "", f"controller: lost its broker connection ({reason})")
            # certkit disconnects its controller only when the link closes (no fault then).
            self.bench_fault("controller-disconnected", f"certkit's MQTT controller lost its "
                                                        f"broker connection ({reason})"
                                                        f"{self._broker_gone()}")

    def _on_message(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        message = Message(time.monotonic(), msg.topic, bytes(msg.payload), msg.qos,
                          bool(msg.retain))
        self.messages.add(message)
        if msg.topic != self._probe_topic:
            self.evidence.record("mqtt", "<-", f"broker {message.describe()}")

    def _on_snapshot_message(self, client: paho.Client, userdata: Any,
                             msg: paho.MQTTMessage) -> None:
        state = self._snapshot_state
        if msg.topic == state.get("marker"):
            state["done"].set()
        elif msg.retain and "found" in state:
            state["found"][msg.topic] = Message(time.monotonic(), msg.topic, bytes(msg.payload),
                                                msg.qos, True)

    # ------------------------------------------------------------ the bench

    def _watch_bench(self) -> None:
        """Endpoint incidents that are the bench's, and the embedded broker's exit, become
        bench faults as they happen (the exit is polled: the broker is a child process)."""
        self.dut.on_bench_incident = lambda incident: self.bench_fault(
            f"endpoint-{incident.kind}", f"endpoint: {incident.text}", incident.t)
        broker = self.broker
        if broker is None:
            return
        stop = threading.Event()

        def watch() -> None:
            while not stop.wait(BROKER_WATCH_S):
                if not broker.alive():
                    self.bench_fault("broker-exited", f"the {broker.name} broker "
                                                      f"{broker.exit_status()}")
                    return

        watcher = threading.Thread(target=watch, name="certkit-mqtt-broker-watch", daemon=True)
        watcher.start()

        def stop_watching(timeout: float) -> None:
            stop.set()
            watcher.join(timeout)

        self._stops.append(("broker watch", stop_watching))

    def _broker_gone(self) -> str:
        """Why the controller was dropped, when it is the embedded broker's exit: the socket
        closes a moment before the child can be reaped, so look a little while."""
        broker = self.broker
        if broker is None or self.state == "closed":
            return ""
        until = time.monotonic() + BROKER_WATCH_S * 3
        while broker.alive() and time.monotonic() < until:
            time.sleep(BROKER_WATCH_S / 10)
        return "" if broker.alive() else f": the {broker.name} broker {broker.exit_status()}"

    def bench_problem(self, thorough: bool = False) -> str | None:
        if self.broker is not None and not self.broker.alive():
            return f"the {self.broker.name} broker {self.broker.exit_status()}"
        if self.controller is not None and not self._connected.is_set():
            up = self.upstream
            if up is not None and not accepts(up.host, up.port, 0.5):
                return f"the MQTT broker at {up} is down (it refuses connections)"
            return "certkit's MQTT controller is not connected to the broker"
        if thorough:
            try:
                self.require_bench(probe=True)
            except LabError as exc:
                return str(exc)
        return None

    def mark_bench(self) -> BenchMark:
        return BenchMark(self.drops, time.monotonic())

    def require_bench(self, since: BenchMark | None = None, probe: bool = False) -> None:
        """LabError unless the broker is up, certkit is connected to it and (with `since`) it
        stayed so throughout a check; `probe` also sends a message round the broker."""
        if self.broker is not None and not self.broker.alive():
            raise LabError(f"the {self.broker.name} broker {self.broker.exit_status()}, so the "
                           "check could not be carried out")
        if not self._connected.is_set():
            up = self.upstream
            if up is not None and not accepts(up.host, up.port, 0.5):
                raise LabError(f"the MQTT broker at {up} is down (it refuses connections)")
            if not self._connected.wait(RECONNECT_GRACE_S):
                raise LabError(f"certkit lost its connection to the MQTT broker at {up} and did "
                               f"not get it back within {RECONNECT_GRACE_S:.0f} s")
        if since is not None:
            if self.drops != since.drops:
                raise LabError("certkit's connection to the MQTT broker dropped during the check, "
                               "so its result cannot be trusted")
            trouble = self.dut.incidents_since(since.t, BENCH_INCIDENTS)
            if trouble:
                raise LabError(f"the bench failed during the check: {trouble[0].text}")
        if probe:
            topic = self._probe_topic
            payload = str(next(self._probes)).encode()
            mark = self.messages.mark()
            self._publish(topic, payload, qos=1, retain=False, record=False)
            if self.messages.wait_for(lambda m: m.topic == topic and m.payload == payload,
                                      time.monotonic() + PROBE_TIMEOUT_S, mark) is None:
                raise LabError(f"the MQTT broker did not return certkit's probe message within "
                               f"{PROBE_TIMEOUT_S:.0f} s")

    # ------------------------------------------------------------ sending

    def topic(self, hp: HomieProperty) -> str:
        return f"{self.base}/{hp.path}"

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> None:
        """Publish as the controller; recorded as evidence."""
        self._publish(topic, payload, qos=qos, retain=retain, record=True)

    def _publish(self, topic: str, payload: bytes, *, qos: int, retain: bool, record: bool) -> None:
        if self.state == "closed" or self.controller is None:
            raise LinkStateError("the mqtt link is closed")
        if record:
            self.record("->", f"PUBLISH {topic} qos={qos} retain={int(retain)} {render(payload)}")
        info = self.controller.publish(topic, payload, qos=qos, retain=retain)
        if info.rc != paho.MQTT_ERR_SUCCESS:
            raise LabError(f"certkit could not publish to the broker "
                           f"({paho.error_string(info.rc)})")

    def set(self, hp: HomieProperty, payload: bytes) -> None:
        """A command: `payload` to the property's `/set` topic (QoS 1, not retained)."""
        self.publish(f"{self.topic(hp)}/set", payload)

    # ------------------------------------------------------------ receiving

    def mark(self) -> int:
        return self.messages.mark()

    def wait_message(self, match: Callable[[Message], bool], deadline: float,
                     mark: int = 0) -> Message | None:
        return self.messages.wait_for(match, deadline, mark)

    def latest(self, topic: str) -> Message | None:
        return self.messages.latest(topic)

    def dut_state(self, after: float = 0.0) -> str | None:
        """The DUT's `$state` as last delivered to certkit (only if delivered after `after`)."""
        latest = self.messages.latest(f"{self.base}/$state")
        if latest is None or latest.t < after:
            return None
        return latest.payload.decode("utf-8", errors="replace")

    def retained(self, timeout: float = SNAPSHOT_TIMEOUT_S) -> dict[str, Message]:
        """What the broker retains under the DUT's tree now, by topic.

        A fresh subscription gets every retained message; a marker published
        after the SUBACK comes back after them, so the snapshot is complete
        when the marker arrives.
        """
        if self.state == "closed" or self._snapshot is None:
            raise LinkStateError("the mqtt link is closed")
        with self._snapshot_lock:
            marker = f"certkit/marker/{self._client_id}/{next(self._probes)}"
            done, subscribed = threading.Event(), threading.Event()
            found: dict[str, Message] = {}
            self._snapshot_state = {"marker": marker, "done": done, "found": found}
            client = self._snapshot
            client.on_subscribe = lambda c, u, mid, codes, props: subscribed.set()
            deadline = time.monotonic() + timeout
            client.subscribe([(f"{self.base}/#", 1), (marker, 1)])
            if not subscribed.wait(max(deadline - time.monotonic(), 0)):
                raise LabError(f"the broker did not answer a SUBSCRIBE within {timeout:.0f} s")
            client.publish(marker, b"end", qos=1)
            if not done.wait(max(deadline - time.monotonic(), 0)):
                raise LabError(f"the broker did not return certkit's snapshot marker within "
                               f"{timeout:.0f} s")
            client.unsubscribe([f"{self.base}/#", marker])
            self._snapshot_state = {}
        for message in found.values():
            self.evidence.record("mqtt", "<-", f"retained {message.describe()}")
        if not found:
            self.evidence.record("mqtt", "<-", f"retained: nothing under {self.base}/")
        return found

    # ------------------------------------------------------------ the DUT

    def await_session(self, limit_ms: int) -> Session:
        """The DUT's live MQTT session; LabError if it has none in time.

        The DUT has `limit_ms` from the link's opening, or from certkit's last
        cut, to (re)connect; once that has passed, the wait is short.
        """
        reference = self.last_cut_t if self.last_cut_t is not None else self.opened_t
        started = time.monotonic()
        deadline = max(reference + limit_ms / 1000, started + AT_LEAST_S)
        session = self.dut.wait(self.dut.live_session, deadline)
        waited = (time.monotonic() - started) * 1000
        if waited >= 20:
            self.evidence.waited(waited / 1000,
                                 f"bench: waited {waited:.0f} ms for the DUT's session",
                                 imposed=False)
        if session is None:
            since = "certkit cut its connection" if self.last_cut_t else "the endpoint opened"
            url = self.endpoint.url if self.endpoint else "the endpoint"
            hint = self._why_no_session(reference)
            raise LabError(f"no DUT has an MQTT session through {url} ({limit_ms} ms after "
                           f"{since}): is the DUT pointed at it?{hint}")
        return session

    def _why_no_session(self, since: float) -> str:
        refused = [s for s in self.dut.sessions_after(since)
                   if s.connack_code not in (None, 0)]
        if refused:
            session = refused[-1]
            level = session.connect.protocol_level if session.connect else None
            hint = (f"; the broker refused the DUT's CONNECT (return code "
                    f"{session.connack_code})")
            unserved = self.upstream.refuses(level) if self.upstream and level else None
            if unserved:
                hint += f": {unserved}"
            return hint
        incidents = self.dut.incidents_since(since)
        return f"; last endpoint event: {incidents[-1].text}" if incidents else ""

    def await_ready(self, session: Session, limit_ms: int) -> Message | None:
        """This session's `$state` = ready message, waiting until `limit_ms` after its CONNACK."""
        start = session.connack_t or session.opened
        topic = f"{self.base}/$state"
        deadline = max(start + limit_ms / 1000, time.monotonic() + 0.05)
        return self.messages.wait_for(
            lambda m: m.topic == topic and m.t >= start and m.payload == b"ready", deadline)

    def cut(self) -> float:
        """Cuts every DUT connection at the endpoint (no DISCONNECT); the time of the cut."""
        assert self.endpoint is not None
        self.last_cut_t = time.monotonic()
        count = self.endpoint.cut(2.0)
        self.evidence.record("bench", "", f"endpoint: certkit cut {count} DUT connection(s) "
                                          "without an MQTT DISCONNECT")
        return self.last_cut_t

    def present(self, which: str) -> None:
        """Which certificate the endpoint shows new TLS connections: trusted or untrusted."""
        assert self.endpoint is not None
        self.endpoint.present(which)
        self.evidence.record("bench", "", f"endpoint: now presents the {which} certificate")
