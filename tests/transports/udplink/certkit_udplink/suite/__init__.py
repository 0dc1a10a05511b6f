"""The checks of the rules certkit UDP adds to ECS-1.0 (`certkit run` collects them beside
the standard's suite for a profile that declares transports.udp)."""
