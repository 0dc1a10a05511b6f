"""certkit: the certification harness for the ECS-1 device compatibility standard."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("certkit")
except PackageNotFoundError:  # running from a checkout that is not installed
    __version__ = "0.0.0+checkout"
