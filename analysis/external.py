"""External models (released checkpoints, ``python -m interface import``) in the report.

Their tidy rows carry ``external`` true and loss ``external`` (setting ``label=<label>``); they
are reference rows, not trained methods. :func:`trained_only` drops them from what the
statistics of trained methods see; :func:`as_published` renames each external summary row to
the training set and loss its run.json records under ``published_as``, so
:func:`analysis.anchors.match_published` sets it beside the published entry for the same model.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.runinfo import run_record
from interface.external.importer import EXTERNAL_LOSS
from interface.untrusted import plain_name


def trained_only(table: pd.DataFrame) -> pd.DataFrame:
    """The tidy rows of trained runs (``external`` false); a table without the column is returned whole."""
    return table[~table["external"].astype(bool)] if "external" in table.columns else table


def as_published(summary: pd.DataFrame, runs_dir: Path | None) -> pd.DataFrame:
    """``summary`` (:func:`analysis.stats.summarize` of the tidy table) with every external row's
    ``dataset`` and ``loss`` replaced by its run.json ``published_as`` (other rows unchanged;
    external rows without ``published_as`` or without a run folder are dropped: nothing to compare).

    The run folder is ``runs_dir/<dataset>__<backbone>__external__<setting>__s0`` (the workflow's
    run id of an external model).
    """
    keep, out = [], summary.copy()
    for index, row in summary.iterrows():
        if row["loss"] != EXTERNAL_LOSS:
            keep.append(index)
            continue
        run_id = f"{row['dataset']}__{row['backbone']}__{EXTERNAL_LOSS}__{row['setting']}__s0"
        folder = runs_dir / plain_name(run_id, "summary row") if runs_dir is not None else None
        record = run_record(folder) if folder is not None and folder.is_dir() else None
        published = record.published_as if record is not None else None
        if published is not None:  # the record checked its dataset and loss are strings
            out.loc[index, ["dataset", "loss"]] = [published["dataset"], published["loss"]]
            keep.append(index)
    return out.loc[keep].reset_index(drop=True)
