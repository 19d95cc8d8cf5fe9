"""Mine survey app: drone LiDAR point clouds to ground model, pit and stockpile volumes.

Library layers, each usable alone: :mod:`.io` (LAS/LAZ in chunks, units), :mod:`.ground`
(SMRF ground filter), :mod:`.dem` (gridding, uncertainty, GeoTIFF), :mod:`.volume` (cut and
fill), :mod:`.stockpile` (volume in a polygon over a base surface), :mod:`.pipeline` (the
streaming file-to-result steps the CLI runs), :mod:`.synth` (synthetic pits with analytic
volumes) and :mod:`.cli` (``ironfield survey ...``).
"""
