"""Released checkpoints as runs: ``python -m interface import`` (:mod:`interface.external.cli`).

:func:`import_weights` maps a foreign state_dict onto a registered backbone and writes a run
folder marked ``external: true``; :mod:`interface.external.layouts` lists the layouts it knows.
"""

from interface.external.importer import import_weights

__all__ = ["import_weights"]
