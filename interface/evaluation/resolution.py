"""When a rate read-out is a measurement: the minimum-events rule for TAR / TPIR at a low FAR / FPIR.

A true-accept rate read at a false-accept rate ``f`` rests on the ``f * n`` impostor comparisons
(of ``n``) that score above its threshold. With fewer than :data:`MIN_EVENTS` such events the
threshold is set by a handful of pairs, and the read-out moves by many points between seeds
(the old synth_ijb TAR@1e-4 was read on less than one impostor pair). Such values are still
written, but marked ``resolved: false`` so tables and headline choices can skip them.
"""

from __future__ import annotations

#: Impostor events (f * n) a rate read-out at false-accept rate f needs to count as resolved.
MIN_EVENTS = 100


def rate_resolution(far: float, n_impostor: int) -> tuple[float, bool]:
    """``(n_events, resolved)`` for a read-out at rate ``far`` (in (0, 1]) over ``n_impostor`` comparisons.

    ``n_events = far * n_impostor`` (expected false accepts at the threshold); resolved iff it is
    at least :data:`MIN_EVENTS`.
    """
    n_events = float(far) * int(n_impostor)
    return n_events, n_events >= MIN_EVENTS
