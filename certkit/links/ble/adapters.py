"""Where the BLE link's radio is: `--ble-adapter`, parsed and opened.

- `bluez` (default on Linux) or `bluez:hci1`: bleak's own platform backend,
  the path for a bench with a Bluetooth adapter;
- `bumble:<transport>`: certkit's bleak backend on the bumble stack through
  any bumble transport (`bumble:tcp-client:127.0.0.1:9000`, `bumble:usb:0`,
  `bumble:serial:/dev/ttyACM0,1000000`, ...);
- the in-process virtual link the reference emulator runs on
  (`--emulate ble`; not an option of its own).

An adapter hands bleak the keyword arguments that select it
(`scanner_kwargs`, `client_kwargs`); the link never names a backend itself.
Every failure to open is a `LabError` that says what to check.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Callable
from typing import Any

from bumble.link import LocalLink

from certkit.checks import LabError
from certkit.links.ble.bumble_backend import BumbleCentral, BumbleClient, BumbleScanner, CentralLost

DEFAULT_ADAPTER = "bluez"


class Adapter(abc.ABC):
    spec: str
    # BlueZ retries a write refused for insufficient encryption after pairing
    # on its own, so an unencrypted write's ATT error never reaches bleak.
    observes_security_errors: bool = True

    @property
    @abc.abstractmethod
    def scanner_kwargs(self) -> dict[str, Any]: ...

    @property
    @abc.abstractmethod
    def client_kwargs(self) -> dict[str, Any]: ...

    @abc.abstractmethod
    async def open(self, timeout: float) -> None: ...

    @abc.abstractmethod
    async def close(self, timeout: float) -> None: ...

    def lost(self) -> str | None:
        """Why the adapter can no longer be used, or None."""
        return None

    def on_lost(self, callback: Callable[[], None]) -> None:
        """Call `callback` (on the link's loop) when the adapter goes away; adapters that
        cannot tell are only asked through `lost()`."""

    def describe(self) -> str:
        return self.spec


class BumbleAdapter(Adapter):
    def __init__(self, transport: str, link: LocalLink | None = None) -> None:
        self.transport = transport
        self.link = link
        self.spec = ("bumble:virtual (in-process link)" if link is not None
                     else f"bumble:{transport}")
        self.central: BumbleCentral | None = None

    @property
    def scanner_kwargs(self) -> dict[str, Any]:
        return {"backend": BumbleScanner, "bumble": self.central}

    @property
    def client_kwargs(self) -> dict[str, Any]:
        return {"backend": BumbleClient, "bumble": self.central}

    async def open(self, timeout: float) -> None:
        try:
            self.central = await BumbleCentral.open(self.transport, link=self.link, timeout=timeout)
        except TimeoutError:
            raise LabError(f"--ble-adapter {self.spec}: the controller did not answer within "
                           f"{timeout:g} s") from None
        except (OSError, ValueError, RuntimeError) as exc:
            raise LabError(f"--ble-adapter {self.spec}: cannot open the bumble transport "
                           f"({type(exc).__name__}: {exc})") from None

    async def close(self, timeout: float) -> None:
        if self.central is not None:
            await self.central.close(timeout)

    def on_lost(self, callback: Callable[[], None]) -> None:
        if self.central is not None:
            self.central.on_lost(callback)

    def lost(self) -> str | None:
        if self.central is None or self.central.lost is None:
            return None
        try:
            self.central.check()
        except CentralLost as exc:
            return str(exc)
        return None


class BlueZAdapter(Adapter):
    observes_security_errors = False

    def __init__(self, name: str | None) -> None:
        self.name = name
        self.spec = f"bluez:{name}" if name else "bluez"

    @property
    def _bluez(self) -> dict[str, Any]:
        return {"bluez": {"adapter": self.name}} if self.name else {}

    @property
    def scanner_kwargs(self) -> dict[str, Any]:
        return self._bluez

    @property
    def client_kwargs(self) -> dict[str, Any]:
        return self._bluez

    async def open(self, timeout: float) -> None:
        from bleak import BleakScanner  # imported here: the BlueZ backend needs D-Bus

        try:
            scanner = BleakScanner(**self.scanner_kwargs)
            await asyncio.wait_for(scanner.start(), timeout)
            await asyncio.wait_for(scanner.stop(), timeout)
        except TimeoutError:
            raise LabError(f"--ble-adapter {self.spec}: BlueZ did not start a scan within "
                           f"{timeout:g} s") from None
        except Exception as exc:  # noqa: BLE001 - D-Bus missing, no adapter, powered off...
            raise LabError(f"--ble-adapter {self.spec}: BlueZ is not usable here "
                           f"({type(exc).__name__}: {exc}); on a bench without BlueZ use "
                           "--ble-adapter bumble:<transport>") from None

    async def close(self, timeout: float) -> None:
        return None


def adapter_for(spec: str | None) -> Adapter:
    """The adapter a `--ble-adapter` value names (bluez when none is given)."""
    spec = spec or DEFAULT_ADAPTER
    kind, _, rest = spec.partition(":")
    if kind == "bluez":
        return BlueZAdapter(rest or None)
    if kind == "bumble" and rest:
        return BumbleAdapter(rest)
    raise LabError(f"--ble-adapter {spec!r}: expected bluez, bluez:<hciN> or "
                   "bumble:<transport> (e.g. bumble:tcp-client:127.0.0.1:9000, bumble:usb:0)")
