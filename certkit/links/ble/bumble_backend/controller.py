"""bumble's virtual controller, with the two gaps that hang a test bench closed.

bumble's `Controller` emulates a Bluetooth controller on a `LocalLink`
(host, GATT and ATT behaviour; no radio timing). Two of its stubs matter to
a harness:

- LE Create Connection Cancel answers success but leaves the pending
  connection in place and never sends the LE Connection Complete event the
  specification requires, so a host whose connect timed out waits for ever
  (bumble's own `Device.connect` does, after it sends the cancel).
  `CertkitController` clears the pending connection and completes it with
  status 0x02 (Unknown Connection Identifier), as a real controller does.
- HCI Reset does nothing, so a host that went away while connected (over
  HCI on TCP, the host is another process) leaves the peer connected and
  silent. Here a reset terminates every leftover connection towards its
  peer, stops advertising and scanning and forgets a pending connection.
"""

from __future__ import annotations

import asyncio
import logging

from bumble import core, hci, ll
from bumble.controller import Controller

logger = logging.getLogger(__name__)


class CertkitController(Controller):
    def on_hci_le_create_connection_cancel_command(
            self, command: hci.HCI_LE_Create_Connection_Cancel_Command,
    ) -> hci.HCI_StatusReturnParameters:
        pending = self.pending_le_connection
        if pending is None:
            return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.COMMAND_DISALLOWED_ERROR)
        self.pending_le_connection = None

        def complete() -> None:
            # Queued so that the Command Complete of the cancel reaches the host first.
            self.send_hci_packet(hci.HCI_LE_Connection_Complete_Event(
                status=hci.HCI_ErrorCode.UNKNOWN_CONNECTION_IDENTIFIER_ERROR,
                connection_handle=0, role=hci.Role.CENTRAL,
                peer_address_type=pending.peer_address_type, peer_address=pending.peer_address,
                connection_interval=0, peripheral_latency=0, supervision_timeout=0,
                central_clock_accuracy=0))

        asyncio.get_running_loop().call_soon(complete)
        return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.SUCCESS)

    def on_hci_reset_command(
            self, command: hci.HCI_Reset_Command) -> hci.HCI_StatusReturnParameters:
        self.drop_connections(hci.HCI_ErrorCode.REMOTE_USER_TERMINATED_CONNECTION_ERROR)
        self.pending_le_connection = None
        self.le_legacy_advertiser.stop()
        for advertising_set in self.advertising_sets.values():
            advertising_set.stop()
        self.advertising_sets.clear()
        self.le_scan_enable = False
        return super().on_hci_reset_command(command)

    def drop_connections(self, reason: int, notify_host: bool = False) -> int:
        """Terminate every LE connection towards its peer; returns how many there were.

        With `notify_host` the own host hears a Disconnection Complete too
        (a device that loses its link); without, it is forgotten silently
        (a reset host has nothing to hear).
        """
        dropped = 0
        for peer_address, connection in list(self.le_connections.items()):
            try:
                connection.send_ll_control_pdu(ll.TerminateInd(reason))
            except core.InvalidArgumentError as exc:  # the peer has left the link already
                logger.debug("terminate towards %s: %s", peer_address, exc)
            if notify_host:
                self.on_le_disconnected(connection, reason)
            else:
                del self.le_connections[peer_address]
            dropped += 1
        return dropped
