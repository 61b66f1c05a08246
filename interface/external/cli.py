"""``python -m interface import``: a released backbone checkpoint as a run folder.

    python -m interface import --backbone iresnet50 --weights backbone.pth --out RUN_DIR \\
        [--embedding-size D] [--input-size S] [--name LABEL] [--run-id ID] [--dataset NAME] \\
        [--published-as TRAIN_SET LOSS]

The file is loaded without running code, its keys are mapped onto the backbone (this project's
own layout, which for the IResNets is arcface_torch's; arcface_torch's MobileFaceNet layout for
``mobilefacenet`` and ``mbf``), every key and shape is checked, and RUN_DIR receives model.pt and
run.json (``external: true``, the source's sha256, the layout, the label). ``python -m interface
evaluate --run RUN_DIR ...`` then scores it like a trained run.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from interface.errors import cli_main

log = logging.getLogger("interface.import")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m interface import",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--backbone", required=True, help="registered backbone name, e.g. iresnet50, mobilefacenet, mbf"
    )
    p.add_argument(
        "--weights", type=Path, required=True, help="the checkpoint: a state_dict saved by torch.save"
    )
    p.add_argument("--out", type=Path, required=True, help="run folder to create (absent or empty)")
    p.add_argument("--embedding-size", type=int, help="embedding dimension D (default: read off the weights)")
    p.add_argument(
        "--input-size", type=int, help="input side S in pixels (default: the first that fits, 112 first)"
    )
    p.add_argument("--name", help="label of the model in the tables (default: the file's stem)")
    p.add_argument("--run-id", help="run id recorded in run.json (default: RUN_DIR's name)")
    p.add_argument("--dataset", help="dataset whose benchmarks score it (recorded for the tables)")
    p.add_argument(
        "--published-as",
        nargs=2,
        metavar=("TRAIN_SET", "LOSS"),
        help="training set and loss under which published tables list the model, e.g. ms1mv3 arcface",
    )
    return p


@cli_main
def main(argv: list[str]) -> int:
    from interface.external.importer import import_weights

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    args = _parser().parse_args(argv)
    info = import_weights(
        args.weights,
        args.backbone,
        args.out,
        embedding_size=args.embedding_size,
        input_size=args.input_size,
        label=args.name,
        run_id=args.run_id,
        dataset=args.dataset,
        published_as=tuple(args.published_as) if args.published_as else None,
    )
    prov = info["provenance"]
    log.info(
        "wrote %s: %s (D=%d, S=%d) from %s, layout %s, sha256 %s",
        args.out, info["backbone"], info["embedding_size"], info["input_size"], args.weights, prov["layout"], prov["sha256"][:12],
    )  # fmt: skip
    return 0
