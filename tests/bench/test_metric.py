"""The end-to-end CER of bench/metric.py on small hand-made pages whose right answer is known."""

import pytest

from bench.metric import PageScore, assign, inside_polygon, normalise, score_page, total


def box(x0, y0, x1, y1):
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def page(*lines, ignore=None):
    rec = {"image": "x.jpg", "width": 1000, "height": 1000, "lines": list(lines)}
    if ignore:
        rec["ignore_regions"] = [{"box": b} for b in ignore]
    return rec


HELLO = {"text": "HELLO WORLD", "box": box(10, 10, 210, 40)}
TOTAL = {"text": "TOTAL 6.70", "box": box(10, 100, 210, 130)}


def test_perfect_match_scores_zero():
    s = score_page(
        page(HELLO, TOTAL), [("HELLO WORLD", 0.9, box(8, 8, 212, 42)), ("TOTAL6.70", 0.9, TOTAL["box"])]
    )
    assert (s.errors, s.gt_chars, s.lines_exact, s.lines_total, s.missed_chars) == (0, 19, 2, 2, 0)
    assert s.cer == 0.0


def test_missing_line_counts_its_characters_and_is_missed():
    s = score_page(page(HELLO, TOTAL), [("HELLOWORLD", 0.9, HELLO["box"])])
    assert s.errors == 9  # "TOTAL6.70"
    assert s.missed_chars == 9
    assert s.lines_exact == 1
    assert s.cer == pytest.approx(9 / 19)


def test_invented_line_far_from_any_gt_counts_as_error():
    s = score_page(page(HELLO), [("HELLOWORLD", 0.9, HELLO["box"]), ("XYZ", 0.5, box(500, 500, 560, 530))])
    assert s.errors == 3
    assert s.unmatched_chars == 3
    assert s.lines_exact == 1
    assert s.cer == pytest.approx(3 / 10)


def test_split_line_is_joined_left_to_right():
    # Returned right part first: joining in list order would give "WORLDHELLO".
    preds = [("WORLD", 0.9, box(120, 10, 210, 40)), ("HELLO", 0.9, box(10, 10, 100, 40))]
    s = score_page(page(HELLO), preds)
    assert s.errors == 0 and s.lines_exact == 1


def test_wrong_characters_are_levenshtein_distance():
    s = score_page(page(TOTAL), [("T0TAL 6.7", 0.9, TOTAL["box"])])
    assert s.errors == 2  # one substitution, one deletion
    assert s.lines_exact == 0
    assert s.missed_chars == 0


def test_prediction_in_ignore_region_is_dropped():
    stamp = ("PAID", 0.8, box(600, 600, 700, 650))
    assert score_page(page(HELLO), [stamp]).unmatched_chars == 4
    s = score_page(page(HELLO, ignore=[box(550, 550, 750, 700)]), [stamp])
    assert s.unmatched_chars == 0
    assert s.errors == 10  # the GT line is still there and still missed


def test_rotated_ignore_region_uses_the_polygon_not_its_bounding_box():
    diamond = [[100, 0], [200, 100], [100, 200], [0, 100]]
    assert inside_polygon((100, 100), diamond)
    assert not inside_polygon((10, 10), diamond)  # inside the bounding box, outside the diamond


def test_casefold_only_when_asked():
    pred = [("Hello World", 0.9, HELLO["box"])]
    assert score_page(page(HELLO), pred, casefold=True).errors == 0
    assert score_page(page(HELLO), pred, casefold=False).errors == 8


def test_nfkc_folds_full_width_forms_and_whitespace_is_ignored():
    gt = {"text": "合计（小写）：¥ 12.00", "box": box(0, 0, 300, 30)}
    s = score_page(page(gt), [("合计(小写):¥12.00", 0.9, gt["box"])])
    assert s.errors == 0
    assert normalise(" a\tb\u3000c\n") == "abc"


def test_dup_of_lines_are_skipped():
    dup = {"text": "HELL0 W0RLD", "box": box(11, 11, 209, 39), "dup_of": 0}
    s = score_page(page(HELLO, dup), [("HELLO WORLD", 0.9, HELLO["box"])])
    assert (s.errors, s.gt_chars, s.lines_total) == (0, 10, 1)


def test_smallest_containing_box_wins():
    outer, inner = box(0, 0, 400, 400), box(100, 100, 200, 130)
    assert assign([box(120, 105, 180, 125)], [outer, inner]) == [1]


def test_near_box_within_half_its_height_else_unmatched():
    gt = [box(0, 100, 200, 130)]  # height 30: reach 15 px
    assert assign([box(50, 132, 150, 152)], gt) == [0]  # centre y 142: 12 px below
    assert assign([box(50, 140, 150, 160)], gt) == [-1]  # centre y 150: 20 px below


def test_page_scores_sum_to_dataset_totals():
    a = score_page(page(HELLO), [("HELLOWORLD", 0.9, HELLO["box"])])
    b = score_page(page(TOTAL), [])
    t = total([a, b])
    assert (t.errors, t.gt_chars, t.lines_exact, t.lines_total, t.missed_chars, t.pages) == (
        9,
        19,
        1,
        2,
        9,
        2,
    )
    assert t.cer == pytest.approx(9 / 19)
    assert total([]) == PageScore(pages=0)


def test_the_space_aware_score_counts_word_breaks_between_latin_and_digits_only():
    from bench.metric import normalise_spaced

    assert normalise_spaced("办公用品  10\t25.00 250.00") == "办公用品10 25.00 250.00"  # none next to CJK
    assert normalise_spaced(" Total  RM 1,250.00 ", casefold=True) == "total rm 1,250.00"
    line = {"text": "办公用品 10 25.00 250.00", "box": box(10, 10, 410, 40)}
    fused = score_page(page(line), [("办公用品1025.00250.00", 1.0, line["box"])])
    assert fused.cer == 0.0 and fused.spaced_errors == 2
    assert fused.spaced_chars == len("办公用品10 25.00 250.00")
    apart = score_page(page(line), [("办公用品 10 25.00 250.00", 1.0, line["box"])])
    assert apart.spaced_errors == 0
    # two boxes given to one line are two words
    halves = [("HELLO", 0.9, box(10, 10, 100, 40)), ("WORLD", 0.9, box(110, 10, 210, 40))]
    split = score_page(page(HELLO), halves)
    assert split.spaced_errors == 0 and split.errors == 0
