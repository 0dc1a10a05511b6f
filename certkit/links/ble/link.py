"""The BLE link: bleak's public API, with deadlines and evidence, for synchronous rules.

Rules talk to the DUT through `BleLink`; the link talks to it only through
`BleakScanner` and `BleakClient`, with the backend the adapter names (BlueZ,
or certkit's bumble backend). Every call has a deadline and records what
happened, with its time and result, in the run's evidence:

    ble <- adv C3:F1:... connectable, 26 bytes as sent, RSSI -50; Flags: 0x06; ...
    ble <- connected to C3:F1:... in 23.1 ms, MTU 247
    ble <- read 0x2A24 Model Number: "acme.kettle.k1" 61 63 6d 65 ... (0.9 ms)
    ble -> write ec5e0203-... (kettle.target-temperature): 28: ATT error 0x13 Value Not Allowed

How calls end, so a rule can tell the DUT's faults from the bench's:

- the DUT answered with an ATT error: `AttError` (code and name);
- the DUT stayed connected but did not answer in time: `NoResponse`;
- the DUT disconnected, or is no longer advertising: `PeerLost` (a
  `LabError`); once it has vanished the link says so at once on every later
  call instead of waiting again, so a run with a dead DUT still ends soon;
- the adapter or its transport went away: `LabError`.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable, Coroutine
from typing import Any

from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.backends.service import BleakGATTServiceCollection
from bleak.exc import BleakError, BleakGATTProtocolError

from certkit.bench import Bench
from certkit.checks import LabError
from certkit.evidence import EvidenceLog
from certkit.links.aio import LoopThread
from certkit.links.base import Link, LinkStateError
from certkit.links.ble.adapters import Adapter, BumbleAdapter, adapter_for
from certkit.links.ble.adverts import Advert, advert_from
from certkit.links.ble.codec import hexdump, normalize_uuid, parse_ecosystem_uuid, uuid_label
from certkit.links.ble.errors import AttError, ConnectFailed, NoResponse, PeerLost
from certkit.links.ble.selection import criteria, match
from certkit.links.ble.subscription import Subscription
from certkit.profile.model import Profile

OP_TIMEOUT_S = 5.0          # one GATT operation
CONNECT_TIMEOUT_S = 10.0
DISCOVER_TIMEOUT_S = 10.0   # finding the DUT when the link opens
REDISCOVER_TIMEOUT_S = 4.0  # is it still there? (after a failed connect or a silent timeout)
PREFIX_ONLY_GRACE_S = 1.5   # how long a name-prefix-only candidate waits for a full match
ADAPTER_TIMEOUT_S = 10.0
EMULATOR_TIMEOUT_S = 10.0

# Failed opens, by run (its evidence log) and bench: the `link` fixture opens
# again for every rule, and a DUT that is not there would otherwise cost the
# discovery timeout each time.
_FAILED_OPENS: weakref.WeakKeyDictionary[EvidenceLog, dict[str, str]] = weakref.WeakKeyDictionary()


class BleLink(Link):
    transport = "ble"

    def __init__(self, profile: Profile, bench: Bench, evidence: EvidenceLog) -> None:
        super().__init__(evidence)
        self.profile = profile
        self.bench = bench
        self.settings = profile.transports.ble
        self.loop = LoopThread("certkit-ble")
        self.emulator: Any = None
        self.adapter: Adapter | None = None
        self.dut: Advert | None = None          # the DUT as first found
        self.client: BleakClient | None = None
        self.encrypted = False
        self.lost: str | None = None            # sticky: the DUT or the adapter is gone
        self.connect_times_ms: list[float] = []
        self.waited_s = 0.0
        self._chars: dict[str, BleakGATTCharacteristic] = {}
        self._table_recorded: str | None = None
        self._seen: dict[tuple[str, bytes | None], int] = {}
        self._disconnecting = False
        self._dropped = False                   # the DUT disconnected on its own
        self._labels = {f"{p.siid}.{p.piid}": p.label for p in profile.properties()}
        self._label_cache: dict[str, str] = {}
        self._written: dict[tuple[str, bytes], float] = {}  # (uuid, value) -> last written

    # ------------------------------------------------------------ lifecycle

    def _open(self, timeout: float) -> None:
        failed = _FAILED_OPENS.setdefault(self.evidence, {})
        key = repr(self.bench)
        if key in failed:
            raise LabError(f"{failed[key]} (as when the BLE link was first opened)")
        deadline = time.monotonic() + timeout
        try:
            self.loop.start()
            self.adapter = self._make_adapter(deadline)
            self.record("->", f"open adapter {self.adapter.describe()}")
            self.loop.run(self.adapter.open(min(ADAPTER_TIMEOUT_S, self._left(deadline))),
                          self._left(deadline))
            self.adapter.on_lost(self._on_adapter_lost)
            self.dut = self._discover(min(DISCOVER_TIMEOUT_S, self._left(deadline) - 1.0))
        except BaseException as exc:
            self._close(min(5.0, max(self._left(deadline), 1.0)))
            if isinstance(exc, LabError):
                failed[key] = str(exc)
                raise
            if isinstance(exc, TimeoutError):
                failed[key] = f"opening the BLE link took longer than {timeout:g} s"
                raise LabError(failed[key]) from None
            raise

    def _make_adapter(self, deadline: float) -> Adapter:
        if "ble" not in self.bench.emulate:
            return adapter_for(self.bench.settings("ble").get("adapter"))
        if given := self.bench.settings("ble").get("adapter"):
            raise LabError("--emulate ble runs the reference emulator on certkit's in-process "
                           f"virtual link; --ble-adapter {given} cannot reach "
                           "it (run `python -m certkit_emulators.ble` for an HCI endpoint instead)")
        from certkit_emulators import UnknownFault
        from certkit_emulators.ble import BleEmulator
        from certkit_emulators.session import shared_state

        state = shared_state(self.evidence, self.profile,
                             self.bench.faults.get("interop", frozenset()))
        try:
            self.emulator = BleEmulator(self.profile, self.bench.faults.get("ble", frozenset()),
                                        self.bench.variants.get("ble", frozenset()),
                                        loop=self.loop, state=state)
        except UnknownFault as exc:
            raise LabError(str(exc)) from None
        self.emulator.start(min(EMULATOR_TIMEOUT_S, self._left(deadline)))
        faults = ", ".join(sorted(self.emulator.faults)) or "none"
        variants = ", ".join(sorted(self.emulator.variants)) or "none"
        self.record("", f"reference emulator started: {self.emulator.name} at "
                        f"{self.emulator.address} (faults: {faults}; variants: {variants})")
        return BumbleAdapter("virtual", link=self.emulator.link)

    def _close(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        if self.loop.running:
            if self.client is not None:
                client, self.client = self.client, None
                self._disconnecting = True
                try:
                    self.loop.run(client.disconnect(), min(1.0, self._left(deadline) / 4))
                except Exception as exc:  # noqa: BLE001 - closing goes on regardless
                    self.record("", f"closing: the disconnect failed ({type(exc).__name__}: {exc})")
            if self.adapter is not None:
                try:
                    self.loop.run(self.adapter.close(self._left(deadline) / 4),
                                  self._left(deadline) / 3)
                except Exception as exc:  # noqa: BLE001 - closing goes on regardless
                    self.record("", f"closing: the adapter did not close cleanly "
                                    f"({type(exc).__name__}: {exc})")
            if self.emulator is not None:
                self.emulator.stop(self._left(deadline) / 3)
        self.loop.stop(max(self._left(deadline), 0.1))

    @staticmethod
    def _left(deadline: float) -> float:
        return max(deadline - time.monotonic(), 0.0)

    # ------------------------------------------------------------ state

    @property
    def _found(self) -> Advert:
        """The DUT as first found: there is one once the link is open."""
        if self.dut is None:
            raise LinkStateError("the BLE link has not found the DUT (it is not open)")
        return self.dut

    @property
    def _radio(self) -> Adapter:
        """The adapter the link opened."""
        if self.adapter is None:
            raise LinkStateError("the BLE link has no adapter (it is not open)")
        return self.adapter

    @property
    def _client(self) -> BleakClient:
        """The connection to the DUT."""
        if self.client is None:
            raise LinkStateError("the BLE link is not connected to the DUT")
        return self.client

    @property
    def connected(self) -> bool:
        return self.client is not None and self.client.is_connected

    @property
    def observes_security_errors(self) -> bool:
        return self.adapter.observes_security_errors if self.adapter else True

    def _check_usable(self) -> None:
        self.require_open()
        lost = self.adapter.lost() if self.adapter else None
        if lost and not self.lost:
            self._lose(f"the BLE adapter is gone: {lost}")
        if self.lost:
            raise PeerLost(self.lost)

    def _on_adapter_lost(self) -> None:
        # The controller's transport closed under certkit (HCI socket, USB dongle): the
        # bench's radio is gone, whatever the DUT is doing. A DUT that disconnects or stops
        # advertising is its own behaviour and never logged here (see _on_disconnected).
        self.bench_fault("adapter-lost", f"the BLE adapter is gone: "
                                         f"{self._radio.lost() or 'its transport closed'}")

    def bench_problem(self, thorough: bool = False) -> str | None:
        lost = self.adapter.lost() if self.adapter else None
        return f"the BLE adapter is gone: {lost}" if lost else None

    def _lose(self, why: str) -> None:
        self.lost = why
        self.record("", f"giving up on the DUT: {why}")

    def label(self, uuid: str) -> str:
        """'0x2A24 Model Number', or 'ec5e0203-... (kettle.target-temperature)'."""
        if uuid not in self._label_cache:
            ids = parse_ecosystem_uuid(uuid)
            name = self._labels.get(f"{ids[0]}.{ids[1]}") if ids and ids[1] else None
            if ids and ids[1]:
                text = f"{normalize_uuid(uuid)} ({name})" if name else normalize_uuid(uuid)
            else:
                text = uuid_label(uuid)
            self._label_cache[uuid] = text
        return self._label_cache[uuid]

    def waited(self, seconds: float, why: str) -> None:
        """Record a deliberate wait (a `wait for the DUT` measurement the benchmarks add up)."""
        self.waited_s += seconds
        self.evidence.waited(seconds, f"waited {seconds:.3f} s: {why}", imposed=False)

    # ------------------------------------------------------------ advertising

    def _wanted(self) -> str | None:
        named = self.bench.settings("ble").get("address")
        return named or (self.emulator.address if self.emulator else None)

    def _criteria(self) -> str:
        return criteria(self.settings, self._wanted())

    def _match(self, advert: Advert) -> str | None:
        return match(advert, self.settings, self._wanted())

    def _note_advert(self, advert: Advert) -> None:
        if advert.is_scan_response_echo and advert.adv_data is not None:
            return
        key = (advert.address, advert.adv_data if advert.adv_data is not None
               else repr(advert.structures).encode())
        self._seen[key] = self._seen.get(key, 0) + 1
        if self._seen[key] == 1:
            self.record("<-", f"adv {advert.describe()}", at=advert.t)

    def _discover(self, timeout: float) -> Advert:
        self.record("->", f"scan for the DUT: {self._criteria()}")
        started = time.monotonic()
        try:
            advert, how = self.loop.run(self._discover_async(timeout), timeout + 2.0)
        except TimeoutError:
            advert, how = None, "the scan did not end in time"
        except (BleakError, OSError, RuntimeError) as exc:
            raise LabError(f"scanning for the DUT failed: {type(exc).__name__}: {exc}") from None
        if advert is None:
            raise LabError(f"no BLE device matching {self._criteria()} was found within "
                           f"{timeout:g} s ({how})")
        self.record("<-", f"found the DUT {advert.address} ({advert.name!r}) after "
                          f"{(advert.t - started) * 1000:.1f} ms{how}")
        return advert

    async def _discover_async(self, timeout: float) -> tuple[Advert | None, str]:
        loop = asyncio.get_running_loop()
        found: asyncio.Future[Advert] = loop.create_future()
        candidates: dict[str, Advert] = {}
        others: set[str] = set()

        def on_detect(device: BLEDevice, adv: AdvertisementData) -> None:
            advert = advert_from(device, adv, time.monotonic())
            kind = self._match(advert)
            if kind is None:
                others.add(device.address)
                return
            self._note_advert(advert)
            if kind == "full" and not found.done():
                found.set_result(advert)
            elif kind == "prefix":
                candidates.setdefault(advert.address, advert)

        scanner = BleakScanner(on_detect, **self._radio.scanner_kwargs)
        await scanner.start()
        try:
            end = loop.time() + timeout
            while loop.time() < end:
                try:
                    return await asyncio.wait_for(asyncio.shield(found), 0.25), ""
                except TimeoutError:
                    pass
                if len(candidates) == 1:
                    only = next(iter(candidates.values()))
                    if time.monotonic() - only.t >= PREFIX_ONLY_GRACE_S:
                        return only, (" (chosen by its name prefix alone: its manufacturer "
                                      "data does not carry the product id)")
            seen = f"{len(others)} other device(s)"
            if len(candidates) > 1:
                seen += f", {len(candidates)} with the name prefix: {', '.join(candidates)}"
            return None, f"seen: {seen}"
        finally:
            await scanner.stop()

    def adverts(self, seconds: float, count: int | None = None) -> list[Advert]:
        """The DUT's advertisements heard within `seconds` (fewer if `count` come first)."""
        self._check_usable()
        address = self._found.address
        started = time.monotonic()

        async def collect() -> list[Advert]:
            heard: list[Advert] = []
            enough = asyncio.Event()

            def on_detect(device: BLEDevice, adv: AdvertisementData) -> None:
                if device.address.lower() != address.lower():
                    return
                advert = advert_from(device, adv, time.monotonic())
                self._note_advert(advert)
                if not (advert.is_scan_response_echo and advert.adv_data is not None):
                    heard.append(advert)
                    if count is not None and len(heard) >= count:
                        enough.set()

            scanner = BleakScanner(on_detect, **self._radio.scanner_kwargs)
            await scanner.start()
            try:
                await asyncio.wait_for(enough.wait(), seconds)
            except TimeoutError:
                pass
            finally:
                await scanner.stop()
            return heard

        try:
            heard = self.loop.run(collect(), seconds + OP_TIMEOUT_S)
        except TimeoutError:
            raise LabError(f"the scan did not end within {seconds + OP_TIMEOUT_S:g} s") from None
        self.waited(time.monotonic() - started, f"listening to the DUT's advertising "
                                                f"({len(heard)} advertisement(s))")
        return heard

    def _still_there(self, seconds: float = REDISCOVER_TIMEOUT_S) -> bool:
        try:
            return bool(self.adverts(seconds, count=1))
        except LabError:
            return False

    # ------------------------------------------------------------ connection

    def _on_disconnected(self, client: BleakClient) -> None:
        if not self._disconnecting:
            self._dropped = True
            self.record("<-", f"the DUT {self._found.address} disconnected")

    def connect(self, timeout: float = CONNECT_TIMEOUT_S) -> float:
        """Connect (with GATT discovery); the time it took in ms. Already connected: 0."""
        self._check_usable()
        if self.connected:
            return 0.0
        if self._dropped:
            # It left on its own: look for it before spending a connect timeout on it.
            self._dropped = False
            if not self._still_there():
                self._lose(f"the DUT {self._found.address} vanished: it disconnected and has not "
                           f"advertised for {REDISCOVER_TIMEOUT_S:g} s")
                raise PeerLost(self.lost)
        self.record("->", f"connect to {self._found.address}")
        started = time.perf_counter()
        try:
            self.loop.run(self._connect(timeout), timeout + 2.0)
        except (TimeoutError, BleakError, OSError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
            self.record("<-", f"connect failed after {(time.perf_counter() - started) * 1000:.1f}"
                              f" ms: {reason}")
            self._check_usable()
            if self._still_there():
                raise ConnectFailed(f"the DUT {self._found.address} is advertising but did not "
                                    f"accept a connection: {reason}") from None
            self._lose(f"the DUT {self._found.address} vanished: no connection ({reason}) and no "
                       f"advertising for {REDISCOVER_TIMEOUT_S:g} s")
            raise PeerLost(self.lost) from None
        elapsed = (time.perf_counter() - started) * 1000
        self.connect_times_ms.append(elapsed)
        self.record("<-", f"connected to {self._found.address} in {elapsed:.1f} ms, "
                          f"MTU {self._client.mtu_size}")
        self._record_table()
        return elapsed

    async def _connect(self, timeout: float) -> None:
        device = self._found.device
        if device is None:  # an advert heard by a scan always carries its device
            raise LinkStateError("the DUT was found without its BLEDevice")
        client = BleakClient(device, disconnected_callback=self._on_disconnected,
                             timeout=timeout, **self._radio.client_kwargs)
        self._disconnecting = False
        await client.connect()
        self.client = client
        self.encrypted = False
        self._chars = {normalize_uuid(c.uuid): c for c in client.services.characteristics.values()}

    def ensure_connected(self) -> None:
        if not self.connected:
            self.connect()

    def disconnect(self, timeout: float = OP_TIMEOUT_S) -> None:
        if self.client is None:
            return
        client = self.client
        self._disconnecting = True
        self.record("->", f"disconnect from {self._found.address}")
        started = time.perf_counter()
        try:
            self.loop.run(client.disconnect(), timeout)
        except TimeoutError:
            raise LabError(f"the disconnect did not complete within {timeout:g} s") from None
        finally:
            self.client = None
        self.record("<-", f"disconnected in {(time.perf_counter() - started) * 1000:.1f} ms")

    def reconnect(self) -> float:
        """A fresh, unencrypted connection."""
        self.disconnect()
        return self.connect()

    def secure(self) -> str | None:
        """Encrypt the link (pair, just works); None when done, else why it failed."""
        self.ensure_connected()
        if self.encrypted:
            return None
        self.record("->", "pair (to encrypt the link)")
        started = time.perf_counter()
        try:
            self.loop.run(self._client.pair(), OP_TIMEOUT_S)
        except (BleakError, TimeoutError, NotImplementedError) as exc:
            why = f"pairing failed: {type(exc).__name__}: {exc}"
            self.record("<-", why)
            return why
        self.encrypted = True
        elapsed = (time.perf_counter() - started) * 1000
        self.record("<-", f"paired, link encrypted ({elapsed:.1f} ms)")
        return None

    def readvertising_after_disconnect(self, limit_s: float) -> float | None:
        """Disconnect, then ms until the DUT is heard advertising again (None: not within limit)."""
        self._check_usable()
        client, address = self.client, self._found.address
        if client is None:
            raise LabError("not connected, so there is no disconnect to time")

        async def run() -> tuple[float, float | None]:
            heard: asyncio.Future[float] = asyncio.get_running_loop().create_future()
            asked = time.monotonic()

            def on_detect(device: BLEDevice, adv: AdvertisementData) -> None:
                if device.address.lower() == address.lower():
                    advert = advert_from(device, adv, time.monotonic())
                    self._note_advert(advert)
                    if not heard.done() and advert.t >= asked:
                        heard.set_result(advert.t)

            scanner = BleakScanner(on_detect, **self._radio.scanner_kwargs)
            await scanner.start()
            try:
                await client.disconnect()
                done = time.monotonic()
                try:
                    t = await asyncio.wait_for(asyncio.shield(heard), limit_s)
                except TimeoutError:
                    return done, None
                return done, max(t - done, 0.0) * 1000
            finally:
                await scanner.stop()

        self._disconnecting = True
        self.record("->", f"disconnect from {address}, then listen for advertising")
        try:
            done, delay = self.loop.run(run(), limit_s + OP_TIMEOUT_S)
        except TimeoutError:
            raise LabError("the disconnect did not complete in time") from None
        finally:
            self.client = None
        self.waited(time.monotonic() - done, "waiting for the DUT to advertise again")
        self.record("<-", f"advertising again after {delay:.1f} ms" if delay is not None
                    else f"no advertising within {limit_s * 1000:.0f} ms of the disconnect")
        return delay

    # ------------------------------------------------------------ GATT

    @property
    def services(self) -> BleakGATTServiceCollection:
        self.ensure_connected()
        return self._client.services

    def char(self, uuid: str) -> BleakGATTCharacteristic | None:
        self.ensure_connected()
        if uuid not in self._chars:  # as given, e.g. upper case: found once, kept
            found = self._chars.get(normalize_uuid(uuid))
            if found is None:
                return None
            self._chars[uuid] = found
        return self._chars[uuid]

    def _record_table(self) -> None:
        lines = []
        for service in self._client.services:
            lines.append(f"GATT service {self.label(service.uuid)} (handle {service.handle})")
            for char in service.characteristics:
                descriptors = ", ".join(uuid_label(d.uuid) for d in char.descriptors)
                lines.append(f"GATT   characteristic {self.label(char.uuid)} (handle "
                             f"{char.handle}): {', '.join(char.properties)}"
                             + (f"; descriptors {descriptors}" if descriptors else ""))
        table = "\n".join(lines)
        if table == self._table_recorded:
            self.record("<-", f"GATT table as before ({len(self._chars)} characteristics)")
            return
        for line in lines:
            self.record("<-", line)
        self._table_recorded = table

    def _op(self, what: str, make: Callable[[BleakClient], Coroutine[Any, Any, Any]],
            direction: str = "<-") -> tuple[Any, float]:
        """Run one GATT operation; (result, ms). Maps every ending to the link's errors."""
        self._check_usable()
        if not self.connected:
            self.connect()
        started = time.perf_counter()
        try:
            result = self.loop.run(make(self._client), OP_TIMEOUT_S)
        except BleakGATTProtocolError as exc:
            error = AttError(int(exc.code))
            elapsed = (time.perf_counter() - started) * 1000
            self.record(direction, f"{what}: {error} ({elapsed:.1f} ms)")
            raise error from None
        except TimeoutError:
            self.record(direction, f"{what}: no response within {OP_TIMEOUT_S:g} s")
            self._after_silence(what)
        except (BleakError, OSError) as exc:
            self.record(direction, f"{what}: {type(exc).__name__}: {exc}")
            self._check_usable()
            if not self.connected:
                self.client = None
                raise PeerLost(f"the DUT disconnected during `{what}`") from None
            raise LabError(f"{what} failed in the BLE stack: {exc}") from None
        return result, (time.perf_counter() - started) * 1000

    def _after_silence(self, what: str) -> None:
        """An operation timed out: the DUT is gone (PeerLost) or mute (NoResponse)."""
        self._check_usable()
        connected = self.connected
        try:
            self.disconnect(1.0)
        except LabError:
            self.client = None
        if not connected:
            raise PeerLost(f"the DUT disconnected during `{what}`")
        if self._still_there():
            raise NoResponse(f"no response to `{what}` within {OP_TIMEOUT_S:g} s (the DUT "
                             "stayed connected)")
        self._lose(f"the DUT {self._found.address} vanished during `{what}`: no response and no "
                   f"advertising for {REDISCOVER_TIMEOUT_S:g} s")
        raise PeerLost(self.lost)

    def _require_char(self, uuid: str) -> BleakGATTCharacteristic:
        char = self.char(uuid)
        if char is None:
            raise KeyError(f"no characteristic {self.label(uuid)} in the DUT's GATT table")
        return char

    def read(self, uuid: str) -> bytes:
        char = self._require_char(uuid)
        label = self.label(uuid)
        data, ms = self._op(f"read {label}", lambda c: c.read_gatt_char(char))
        self.record("<-", f"read {label}: {_show(data)} ({ms:.1f} ms)")
        return bytes(data)

    def write(self, uuid: str, data: bytes) -> float:
        """Write with response; the ms it took. AttError when refused."""
        char = self._require_char(uuid)
        label = self.label(uuid)
        what = f"write {label}: {hexdump(data)}"
        _, ms = self._op(what, lambda c: c.write_gatt_char(char, data, response=True), "->")
        self.record("->", f"{what}: ok ({ms:.1f} ms)")
        self._written[(normalize_uuid(uuid), bytes(data))] = time.monotonic()
        return ms

    def written_at(self, uuid: str, data: bytes) -> float | None:
        """When certkit last wrote `data` to the characteristic (monotonic), if ever: a
        notification of it may still be on its way, and would carry the same bytes."""
        return self._written.get((normalize_uuid(uuid), bytes(data)))

    def subscribe(self, uuid: str) -> Subscription:
        char = self._require_char(uuid)
        label = self.label(uuid)
        subscription = Subscription(normalize_uuid(uuid), label)

        def on_notify(sender: BleakGATTCharacteristic, data: bytearray) -> None:
            t = time.monotonic()
            subscription.deliver(t, bytes(data))
            self.record("<-", f"notify {label}: {hexdump(data)}", at=t)

        self._op(f"enable notifications on {label}", lambda c: c.start_notify(char, on_notify),
                 "->")
        self.record("->", f"notifications enabled on {label}")
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        if not self.connected:
            return
        char = self._require_char(subscription.uuid)
        self._op(f"disable notifications on {subscription.label}",
                 lambda c: c.stop_notify(char), "->")


def _show(data: bytes) -> str:
    """Bytes for evidence, with the text they spell when they are printable UTF-8."""
    data = bytes(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text and text.isprintable() and len(data) > 1:
        return f'"{text}" {hexdump(data, 24)}'
    return hexdump(data)
