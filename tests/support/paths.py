"""Where the repository, its example profiles and the kettle are."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROFILES = ROOT / "profiles"
KETTLE = PROFILES / "acme.kettle.k1.yaml"  # the multi-transport example of ECS-1 section 2
SENSOR = PROFILES / "acme.sensor.th1.yaml"
