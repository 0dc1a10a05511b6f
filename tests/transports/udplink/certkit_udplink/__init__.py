"""certkit UDP, a fourth transport shipped as a package of its own (tests/transports/udplink).

- `protocol`: the datagrams (one JSON object each) and their codec;
- `link`: `UdpLink`, certkit as a controller of the device, with evidence and deadlines;
- `emulator`: the reference device on loopback, serving the run's one device state;
- `face`: its interop face (ECS-1 section 8, SEC-002);
- `transport`: the `Transport` registered under `certkit.transports`;
- `rules.yaml` and `suite/`: UDP-001, the rule it adds to ECS-1.0, and its check.
"""
