"""labctl monitor: the drift job on the local capture, and the lab's `monitor` stage.

The default drift strengths below are what "drift at its default strength" means in the
tests, the lab and the README.
"""

from __future__ import annotations

# One producer --drift spec per kind (labctl/producer.py parse_drift), at the strength the
# lab injects and the tests require the drift job to detect.
DEFAULT_DRIFTS = {
    "shift": "shift=2",
    "scale": "scale=1.3",
    "noise": "noise=1.5",
    "clip": "clip=0:8",
}
