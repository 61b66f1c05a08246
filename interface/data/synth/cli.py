"""``python -m interface synth --out DIR --preset {smoke,default,large} --seed N [--workers K]``."""

from __future__ import annotations

import argparse
import logging

from interface.data.synth.presets import PRESETS
from interface.errors import InputError, cli_main


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m interface synth",
        description="Write the SynthFace suite (procedural faces in InsightFace formats): train.rec/.idx/property, "
        "five .bin verification packs (synth_lfw, synth_cfp_fp, synth_agedb_30, synth_calfw, synth_cplfw), an "
        "IJB-style set in ijb/, an identification set in identification/, contact_sheet.png, synthface.json and "
        "manifest.json. The same preset and seed give byte-identical files.",
    )
    p.add_argument("--out", required=True, help="output dataset folder (created; suite entries are replaced)")
    p.add_argument(
        "--preset", default="default", choices=sorted(PRESETS), help="suite size (default: default)"
    )
    p.add_argument("--seed", type=int, default=0, help="non-negative integer seed (default: 0)")
    p.add_argument("--workers", type=int, default=None,
                   help="rendering processes (default: available CPUs, at most 8); does not change the output")  # fmt: skip
    p.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    return p


@cli_main
def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    if args.seed < 0:
        raise InputError(f"--seed {args.seed}: expected a non-negative integer")
    if args.workers is not None and args.workers < 1:
        raise InputError(f"--workers {args.workers}: expected an integer >= 1")
    from interface.data.synth.suite import generate_suite

    out = generate_suite(args.out, args.preset, args.seed, workers=args.workers)
    print(out)
    return 0
