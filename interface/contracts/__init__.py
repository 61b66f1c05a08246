"""What crosses a stage boundary: one record type per hand-off, each with a format and version.

Workflow, trainer, evaluator and analysis import these instead of parsing each other's strings:
each record serialises with ``to_json`` and reads back with ``from_json``, which accepts only its
own format tag (:mod:`interface.contracts.versioned`).
"""
