"""The quality benchmark on the portrait world: its seeded suite, scoring with the real portrait oracle on
constructed outputs (known answers: the ideal edit, no edit, a moved head, another background), and a run end
to end on the tiny random portrait model."""

import json

import pytest

from ems_core.bench.portrait_quality import (HEAD_TOLERANCE, PRESETS, ideal_image, ideal_portrait, portrait_suite,
                                             score_portrait, target_words, value_tolerance)
from ems_core.bench.quality import SWEEP_DEGREES
from ems_core.cli import main
from ems_core.portraits.scene import Portrait, caption_of, parse_caption, render


def test_suite_is_seeded_covers_every_attribute_and_its_targets_are_the_prompts():
    cases = portrait_suite(22, 1, 4, seed=5)
    singles = [c for c in cases if c.kind in ("single", "sweep")]
    assert sorted(c.label for c in singles) == sorted(PRESETS * 2)
    assert sorted(c.label for c in cases if c.kind == "sweep") == sorted(PRESETS)
    assert all(c.degrees == SWEEP_DEGREES for c in cases if c.kind == "sweep")
    for case in cases:
        assert case.world == "portraits" and case.prompt == caption_of(case.scene)
        assert case.image.size == (128, 128)
        target_prompt = case.prompt
        for attribute in case.attributes:
            target_prompt = attribute.target_prompt(target_prompt)
        assert case.targets == target_words(case.prompt, target_prompt) and case.targets
        assert all(case.scene.words[name] != word for name, word in case.targets.items())
    pairs = [c for c in cases if c.kind == "pair"]
    assert len(pairs) == 4 and all(len(c.attributes) == 2 for c in pairs)
    for case in pairs:  # never two attributes whose phrases overlap
        names = {a.name for a in case.attributes}
        assert not names <= {"hair colour", "hair lightness", "hair length"}
        assert not names <= {"background", "background lightness"}
    again = portrait_suite(22, 1, 4, seed=5)
    assert [(c.case_id, c.targets, c.scene) for c in again] == [(c.case_id, c.targets, c.scene) for c in cases]
    assert [c.scene for c in portrait_suite(22, 1, 4, seed=6)] != [c.scene for c in cases]


def test_a_slider_case_passes_through_the_scale():
    from ems_core.portraits.scene import SMILE_BANDS

    order = list(SMILE_BANDS)
    smiles = [c for c in portrait_suite(110, 0, 0, seed=1) if c.label == "smile"]
    steps = [abs(order.index(c.scene.words["smile"]) - order.index(c.targets["smile"])) for c in smiles]
    assert max(steps) >= 3  # the suite holds long moves, e.g. frowning -> smiling
    for case, step in zip(smiles, steps):
        assert len(case.attributes[0].via) == step - 1  # every word between is a waypoint


def test_tolerances_are_half_the_gap_between_neighbouring_words():
    assert value_tolerance("age") == pytest.approx(0.2)
    assert value_tolerance("smile") == pytest.approx((0.63 - 0.35) / 2)
    assert value_tolerance("hair_hue") == pytest.approx((0.2 - 0.02) / 2)


def _case(label, seed=3):
    return next(c for c in portrait_suite(22, 0, 0, seed=seed) if c.label == label)


@pytest.mark.parametrize("label", ["smile", "hair colour", "background"])
def test_scoring_the_ideal_edit_and_no_edit(label):
    case = _case(label)
    ideal = ideal_image(case)
    perfect = score_portrait(case, [case.image, ideal], "ideal")
    assert perfect["target_hit"] and perfect["preserved"] and perfect["both"], perfect["kept"]
    assert perfect["sde"]["sde"] > 0.99 and perfect["psnr_degree0"] == 100.0 and perfect["outside_change"] == 0.0
    assert set(perfect["kept"]) >= {"head position", "tilt", "background texture"}
    assert not set(case.targets) & set(perfect["kept"])
    nothing = score_portrait(case, [case.image, case.image], "nothing")
    assert not nothing["target_hit"] and nothing["preserved"] and not nothing["both"]
    assert nothing["sde"]["sde"] == 0.0  # no edit: the gap term is 1


def test_details_no_caption_names_must_stay():
    case = _case("smile")
    portrait = ideal_portrait(case.scene, case.targets)
    moved = portrait.with_(head_x=portrait.head_x + (3 * HEAD_TOLERANCE if portrait.head_x < 0 else -3 * HEAD_TOLERANCE))
    other_background = portrait.with_(background_seed=portrait.background_seed + 1)
    for changed, detail in ((moved, "head position"), (other_background, "background texture")):
        record = score_portrait(case, [case.image, render(changed)], "changed")
        assert record["target_hit"] and not record["kept"][detail] and not record["both"]


def test_a_sweep_reads_its_slider_response():
    case = next(c for c in portrait_suite(11, 1, 0, seed=3) if c.label == "age")
    start, goal = case.scene, ideal_portrait(case.scene, case.targets)
    steps = [render(start.with_(age=start.age + t * (goal.age - start.age))) for t in (0, 0.25, 0.5, 0.75, 1)]
    record = score_portrait(case, steps, "ideal")
    assert record["rho"] == pytest.approx(1.0) and record["swept"] == "age"
    assert score_portrait(case, steps[::-1], "backwards")["rho"] == pytest.approx(-1.0)
    hue = next(c for c in portrait_suite(11, 1, 0, seed=3) if c.label == "background")
    record = score_portrait(hue, [hue.image] * 3 + [ideal_image(hue)] * 2, "late")
    assert record["switch_degree"] == 0.75 and "rho" not in record


def test_a_target_prompt_that_changes_nothing_has_no_targets():
    caption = caption_of(Portrait())
    assert target_words(caption, caption) == {}
    assert parse_caption(caption)["smile"] == "neutral"


@pytest.mark.slow
def test_run_on_the_tiny_portrait_model(tmp_path, capsys):
    """The portrait suite end to end on random weights: the page and its name are the portrait world's."""
    code = main(["bench", "quality", "--model", "tiny-random-portraits", "--quick", "--cases", "2", "--sweeps", "1",
                 "--pairs", "1", "--methods", "ours,sdedit", "--threads", "1", "--out-dir", str(tmp_path),
                 "--records", str(tmp_path / "records.json")])
    assert code == 0
    out = capsys.readouterr().out.strip().splitlines()
    report = json.loads(out[-1])
    page = (tmp_path / "benchmark-portraits.md").read_text()
    assert "# Quality benchmark on the portrait world" in page and "background texture" in page
    assert json.loads(page.strip().splitlines()[-1]) == report
    assert (tmp_path / "benchmark-portraits" / "contact_sheet.png").stat().st_size > 0
    assert report["run"]["cases"] == 3 and set(report["baselines"]) == {"sdedit"}
    assert "The ceiling set by the model's autoencoder" in page
    records = json.loads((tmp_path / "records.json").read_text())["records"]  # every record is plain JSON
    assert len(records) == 3 * 2 and all(isinstance(r["both"], bool) for r in records)
