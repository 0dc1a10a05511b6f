"""`--reset power`: the DUT power-cycled through its labgrid place's power resource.

The place's `NetworkPowerPort` (a network power switch: labgrid's `rest`, `gude`, `shelly`,
`tasmota`, ... models) is switched by labgrid's own `NetworkPowerDriver`: off, labgrid's
delay, on. labgrid's power backends call their switch without a timeout, so the cycle runs
on a helper thread and a switch that does not answer within the reset's deadline is a
`LabError` (the rule that needed the reset ends in `error`).
"""

from __future__ import annotations

import threading
from typing import Any

import serial

from certkit.checks import LabError
from certkit.lab.lease import LEASE_ENV, LabResource, lease_from_environment
from certkit.links.serial.reset import ResetMethod


class PowerCycle(ResetMethod):
    name = "power"

    def __init__(self, place: str, outlet: LabResource) -> None:
        self.place = place
        self.outlet = outlet

    def __str__(self) -> str:
        return f"power (labgrid place {self.place}: {self.outlet.path})"

    def reset(self, port: serial.SerialBase | None, timeout: float) -> None:
        failure: list[BaseException] = []

        def cycle() -> None:
            try:
                self._driver().cycle()
            except BaseException as exc:  # noqa: BLE001 - reported on the caller's thread
                failure.append(exc)

        worker = threading.Thread(target=cycle, name="certkit-power-cycle", daemon=True)
        worker.start()
        worker.join(timeout)
        if worker.is_alive():
            raise LabError(f"the power switch of labgrid place {self.place} "
                           f"({self.outlet.params.get('host')}) did not complete a power "
                           f"cycle within {timeout:g} s")
        if failure:
            exc = failure[0]
            raise LabError(f"the power switch of labgrid place {self.place} failed: "
                           f"{type(exc).__name__}: {exc}")

    def _driver(self) -> Any:  # labgrid's NetworkPowerDriver, imported only when used
        from labgrid import Target
        from labgrid.driver.powerdriver import NetworkPowerDriver
        from labgrid.resource.power import NetworkPowerPort

        params = self.outlet.params
        target = Target(f"certkit {self.place}")
        NetworkPowerPort(target, name=None, model=str(params["model"]),
                         host=str(params["host"]), index=str(params.get("index", 0)))
        driver = NetworkPowerDriver(target, name=None)
        target.activate(driver)
        return driver


def power_reset() -> PowerCycle:
    """The reset method of `--reset power`, from the place this run holds."""
    lease = lease_from_environment()
    if lease is None:
        raise LabError("--reset power switches a labgrid place's power resource: it works "
                       "for a bench-file DUT with `labgrid: {place: NAME}` (certkit run "
                       f"--bench), which hands the place over in {LEASE_ENV}")
    outlet = lease.power
    if outlet is None:
        raise LabError(f"--reset power: labgrid place {lease.place} has no power resource "
                       "certkit can switch (NetworkPowerPort); its resources: "
                       + ", ".join(r.path for r in lease.resources))
    return PowerCycle(lease.place, outlet)
