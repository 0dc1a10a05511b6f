"""Shared labs on labgrid (docs/lab.md): a bench-file DUT on a place of a labgrid coordinator.

- `coordinator`: labgrid's own client library on a loop thread, every request bounded;
- `place`: waiting for a place in labgrid's queue (reservations), acquiring it, releasing
  it (`PlaceHolder`), and the bench errors when it cannot be held (`PlaceBusy`);
- `lease`: the place as held, handed to the DUT's run in its environment: its serial port
  (a `NetworkSerialPort` through ser2net, opened as an RFC 2217 URL), its power resource,
  and what the record says about it;
- `power`: `--reset power`, a power cycle through labgrid's `NetworkPowerDriver`;
- `unheld`: the outputs of a DUT whose place was never held.

Only the bench runner and `--reset power` import labgrid (pip install 'certkit[lab]').
"""

from certkit.lab.lease import LEASE_ENV, LabResource, Lease, lab_facts, lease_from_environment

__all__ = ["LEASE_ENV", "LabResource", "Lease", "lab_facts", "lease_from_environment"]
