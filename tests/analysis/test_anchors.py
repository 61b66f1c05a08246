"""Published anchors: the packaged CSV and the match against reproduced numbers."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.anchors import PUBLISHED_COLUMNS, canonical, load_published, match_published


def test_published_csv_holds_cited_numbers() -> None:
    pub = load_published()
    assert list(pub.columns) == PUBLISHED_COLUMNS
    assert pub["source"].str.contains(r"anchors\.md §2\.1").all()
    assert pub["value"].between(50, 100).all()

    def value(dataset, backbone, loss, bench, metric, source_part):
        hit = pub[
            (pub.dataset == dataset)
            & (pub.backbone == backbone)
            & (pub.loss == loss)
            & (pub.benchmark == bench)
            & (pub.metric == metric)
            & pub.source.str.contains(source_part)
        ]
        assert len(hit) == 1, (dataset, backbone, loss, bench, source_part)
        return hit.iloc[0]["value"]

    # spot checks against anchors.md §2.1, typed independently of the CSV
    assert value("ms1mv2", "iresnet100", "adaface", "ijbc", "tar_at_far_1e-04", "AdaFace README") == 96.89
    assert value("ms1mv3", "iresnet50", "arcface", "lfw", "accuracy", "Aug 2021") == 99.83
    assert value("glint360k", "iresnet100", "arcface", "ijbc", "tar_at_far_1e-05", "current") == 96.38
    assert value("ms1mv2", "iresnet100", "curricularface", "cfp_fp", "accuracy", "TFace") == 98.36
    assert value("ms1mv2", "iresnet100", "arcface", "ijbc", "tar_at_far_1e-04", "insightface#1263") == 96.28
    assert not (pub["loss"] == "interface").any()  # no InterFace number could be recovered


def test_canonical_names() -> None:
    assert (
        canonical("IJB-C") == "ijbc" and canonical("r100") == "iresnet100" and canonical("MS1MV2") == "ms1mv2"
    )
    assert canonical("AgeDB-30") == "agedb_30" and canonical("synth_lfw") == "synthlfw"


def summary(dataset, backbone, benchmark, mean):
    return pd.DataFrame(
        [
            {
                "dataset": dataset,
                "backbone": backbone,
                "loss": "arcface",
                "setting": "m=0.5",
                "benchmark": benchmark,
                "metric": "tar_at_far_1e-04",
                "n_seeds": 2,
                "mean": mean,
                "std": 0.001,
                "ci_low": 0,
                "ci_high": 1,
            }
        ]
    )


def test_match_only_same_dataset_and_backbone() -> None:
    m = match_published(summary("MS1MV2", "r100", "IJB-C", 0.9610))
    # five published ArcFace R100 MS1MV2 IJB-C 1e-4 numbers: 95.6, 96.03, 96.28, 96.37, 96.4
    assert sorted(m["published"]) == [95.6, 96.03, 96.28, 96.37, 96.4]
    row = m[m["published"] == 95.6].iloc[0]
    assert row["reproduced"] == pytest.approx(96.10)
    assert row["difference"] == pytest.approx(0.5) and bool(row["within"]) is True
    far = match_published(summary("MS1MV2", "r100", "IJB-C", 0.90))
    assert not far["within"].any()
    assert match_published(summary("synthface", "tiny", "synth_ijb", 0.9)).empty
    assert match_published(summary("ms1mv2", "iresnet18", "ijbc", 0.9)).empty  # backbone differs


def test_matched_anchors_render_with_yes_no(tmp_path) -> None:
    from analysis.report_tables import anchors_view

    summary_df = summary("ms1mv2", "iresnet100", "ijbc", 0.9520)
    view = anchors_view(summary_df, tmp_path, tmp_path)
    html = view["table"]["html"]
    assert (
        "95.6" in html and ">yes<" in html and ">no<" in html
    )  # 95.20: within 1.0 of 95.6 and 96.03, not of 96.28+
    assert view["n_published"] == len(load_published()) and (tmp_path / "published.csv").is_file()
