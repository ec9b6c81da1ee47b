"""The STS harness on a hand-made SentEval layout, with a fake encoder whose cosines are known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sct.errors import DataError
from sct.evaluation.sts import STS_TASKS, TASK_ORDER, evaluate_sts, format_sts_table, load_sts_tasks


class FakeEncoder:
    """'l ...' -> (1, 0); 'r <s>' -> (s, sqrt(1 - s^2)): the cosine of an (l, r <s>) pair is exactly s."""

    def __init__(self):
        self.encoded: list[str] = []

    def encode(self, sentences, **kwargs):
        self.encoded.extend(sentences)
        out = []
        for s in sentences:
            kind, *rest = s.split(" ")
            if kind == "l":
                out.append([1.0, 0.0])
            else:
                sim = float(rest[0])
                out.append([sim, math.sqrt(1 - sim * sim)])
        return np.array(out)


def _write_track(folder, track, rows):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"STS.input.{track}.txt").write_text("".join(f"{a}\t{b}\n" for a, b, _ in rows))
    (folder / f"STS.gs.{track}.txt").write_text("".join(f"{g}\n" for _, _, g in rows))


@pytest.fixture
def senteval(tmp_path):
    root = tmp_path / "senteval"
    for task in ("STS12", "STS13", "STS14", "STS15", "STS16"):
        folder, tracks = STS_TASKS[task]
        for j, track in enumerate(tracks):
            # each track alone is perfectly ranked; across tracks the similarities shift upwards
            rows = [("l  x", f"r {0.1 * j + 0.01 * i:.2f}", str(i + 1)) for i in range(3)]
            rows.insert(1, ("l x", "r 0.99", ""))  # no gold score: SentEval skips the pair
            _write_track(root / folder, track, rows)
    stsb = root / "STS" / "STSBenchmark"
    stsb.mkdir(parents=True)
    sims = [0.1, 0.2, 0.4, 0.3, 0.5]
    stsb.joinpath("sts-test.csv").write_text(
        "".join(f"g\tMSRvid\t2012\t{i}\t{i + 1}.0\tl  y\tr {s}\n" for i, s in enumerate(sims))
    )
    sick = root / "SICK"
    sick.mkdir()
    sick.joinpath("SICK_test_annotated.txt").write_text(
        "pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment\n"
        + "".join(f"{i}\tl z\tr {s}\t{i + 1}\tNEUTRAL\r\n" for i, s in enumerate(sims))
    )
    return root


def test_scores_match_hand_computed_spearman(senteval):
    encoder = FakeEncoder()
    result = evaluate_sts(encoder, senteval, show_progress_bar=False)
    # STS-B / SICK-R: gold 1..5 against cosines ranked 1,2,4,3,5: rho = 1 - 6*2/(5*24) = 0.9
    assert result["tasks"]["STS-B"]["spearman"] == pytest.approx(90.0)
    assert result["tasks"]["SICK-R"]["spearman"] == pytest.approx(90.0)
    # STS12 (5 tracks of gold 1,2,3): every track alone has rho = 1, but the concatenation ('all')
    # ranks gold {3, 8, 13} x 5 against cosines 1..15: rho = 50 / sqrt(250 * 280) = 1 / (2 sqrt 7).
    sts12 = result["tasks"]["STS12"]
    assert sts12["spearman"] == pytest.approx(100 / (2 * math.sqrt(7)))
    assert all(v == pytest.approx(100.0) for v in sts12["tracks"].values())
    assert sts12["pairs"] == 15  # the blank-gold pairs were skipped
    # STS13 has 3 tracks: gold {2, 5, 8} x 3 against 1..9 -> rho = 18 / sqrt(54 * 60)
    assert result["tasks"]["STS13"]["spearman"] == pytest.approx(100 * 18 / math.sqrt(54 * 60))
    expected_avg = np.mean([result["tasks"][t]["spearman"] for t in TASK_ORDER])
    assert result["avg"] == pytest.approx(expected_avg)
    assert result["avg_over"] == TASK_ORDER


def test_sentences_are_whitespace_joined_and_encoded_once(senteval):
    encoder = FakeEncoder()
    evaluate_sts(encoder, senteval, show_progress_bar=False)
    assert len(encoder.encoded) == len(set(encoder.encoded))
    assert "l x" in encoder.encoded and "l  x" not in encoder.encoded


def test_table_is_in_the_paper_column_order(senteval):
    result = evaluate_sts(FakeEncoder(), senteval, show_progress_bar=False)
    table = format_sts_table([("fake", result)])
    header = table.splitlines()[0]
    positions = [header.index(t) for t in ["STS12", "STS13", "STS14", "STS15", "STS16", "STS-B", "SICK-R", "Avg."]]
    assert positions == sorted(positions)
    assert "| fake | " in table and f"{result['avg']:.2f}" in table


def test_missing_file_is_named(senteval):
    (senteval / "SICK" / "SICK_test_annotated.txt").unlink()
    with pytest.raises(DataError, match="SICK_test_annotated.txt: file not found"):
        load_sts_tasks(senteval, ["SICK-R"])


def test_malformed_input_line_is_named(senteval):
    path = senteval / "STS" / "STS12-en-test" / "STS.input.MSRpar.txt"
    path.write_text("l x\tr 0.1\nno tab here\nl x\tr 0.2\nl x\tr 0.3\n")
    with pytest.raises(DataError, match=r"STS\.input\.MSRpar\.txt:2: expected 2 tab-separated"):
        load_sts_tasks(senteval, ["STS12"])


def test_bad_gold_score_is_named(senteval):
    path = senteval / "STS" / "STSBenchmark" / "sts-test.csv"
    path.write_text("g\tMSRvid\t2012\t0\tfive\tl\tr 0.1\n")
    with pytest.raises(DataError, match=r"sts-test\.csv:1: expected a numeric gold score"):
        load_sts_tasks(senteval, ["STS-B"])


@pytest.mark.parametrize("case", ["empty sts-test.csv", "one-pair track", "every gold score blank"])
def test_a_file_with_fewer_than_two_scored_pairs_is_named(senteval, case):
    if case == "empty sts-test.csv":
        path, task = senteval / "STS" / "STSBenchmark" / "sts-test.csv", "STS-B"
        path.write_text("")
    else:
        folder = senteval / "STS" / "STS12-en-test"
        path, task = folder / "STS.gs.MSRpar.txt", "STS12"
        rows = [("l x", "r 0.1", "2")] if case == "one-pair track" else [("l x", "r 0.1", ""), ("l x", "r 0.2", "")]
        _write_track(folder, "MSRpar", rows)
    with pytest.raises(DataError, match=rf"{path.name}: [01] scored sentence pair\(s\); an STS file needs at least 2"):
        load_sts_tasks(senteval, [task])


def test_evaluate_on_an_empty_sts_file_is_one_line_and_keeps_the_stored_scores(senteval, tiny_bert, tmp_path, capsys):
    from sct.cli import main

    scores = tmp_path / "scores.json"
    argv = ["evaluate", tiny_bert, "--tasks", "STS-B", "--data-dir", str(senteval), "--output-json", str(scores)]
    assert main(argv) == 0
    stored = scores.read_bytes()
    (senteval / "STS" / "STSBenchmark" / "sts-test.csv").write_text("")
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "sts-test.csv: 0 scored sentence pair(s)" in err[0], err
    assert scores.read_bytes() == stored


def test_sts_readers_drop_a_byte_order_mark_and_name_a_directory_or_fifo(tmp_path):
    import os

    from sct.errors import DataError
    from sct.evaluation.sts import load_dev_set, read_sts_track

    (tmp_path / "STS.input.x.txt").write_text("\ufeffA man sings.\tA man is singing.\nA dog.\tA cat.\n")
    (tmp_path / "STS.gs.x.txt").write_text("\ufeff4.5\n1.0\n")  # Windows editors write a BOM
    track = read_sts_track(tmp_path, "x")
    assert track.sentences1[0] == "A man sings." and track.scores == [4.5, 1.0]
    with pytest.raises(DataError, match="is a directory, expected the dev file"):
        load_dev_set(tmp_path, None)
    os.mkfifo(tmp_path / "STS.input.y.txt")
    with pytest.raises(DataError, match="not a regular file"):
        read_sts_track(tmp_path, "y")
