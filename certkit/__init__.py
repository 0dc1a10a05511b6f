"""certkit: the certification harness for the ECS-1 device compatibility standard."""

__version__ = "0.1.0"
