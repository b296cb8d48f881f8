"""One pipeline, two worlds: the world descriptions, the portraits model's parts, its training, export,
backend and evaluation at test size, and the shipped shapes model left as it was."""

import json
import random
from dataclasses import asdict, replace

import pytest
import torch

from ems_core import EditConfig, EditSession, generate, load_backend
from ems_core.backends.contract import ForwardingBackend
from ems_core.backends.world import BUNDLED_MODEL_DIR, load_world_backend
from ems_core.bench.world_model import run_eval, summarise_offsets, value_offsets
from ems_core.cli import main
from ems_core.sampling.schedules import shifted_sigmas
from ems_core.portraits import PortraitCaptioner, random_portrait, render
from ems_core.world import spec as spec_module
from ems_core.world.captioner import WorldCaptioner
from ems_core.world.model import (MODEL_PRESETS, WordTokenizer, WorldAutoencoder, WorldModelConfig, build_autoencoder,
                                  tiny_config)
from ems_core.world.spec import WORLD_NAMES, world_spec
from ems_core.world.train import (TrainConfig, RenderedBatches, convert, export, scene_batch, train_autoencoder,
                                   train_transformer)

PORTRAITS_COMMANDS = ("`python -m ems_core world train all --world portraits --run-dir runs/portraits` then "
                      "`python -m ems_core world export --run-dir runs/portraits --out assets/world-portraits`")


@pytest.mark.parametrize("name", WORLD_NAMES)
def test_each_world_samples_pairs_its_oracle_reads_and_its_tokenizer_holds(name):
    spec = world_spec(name)
    tokenizer = WordTokenizer.for_world(MODEL_PRESETS[name].max_tokens, name)
    rng = random.Random(7)
    for _ in range(20):
        image, caption = spec.sample(rng)
        assert image.size == (spec.image_size, spec.image_size) and image.mode == "RGB"
        assert tokenizer.unknown_words(caption) == []
        assert len(caption.replace(",", " ").split()) <= spec.max_caption_words <= MODEL_PRESETS[name].max_tokens - 2
    assert all(spec.agreement(caption, spec.measure(image)).values())  # the last pair, read back
    assert set(spec.attributes) == set(spec.agreement(caption, spec.measure(image)))


def test_the_portraits_phrasings_vary_and_the_longest_caption_is_32_words():
    spec = world_spec("portraits")
    rng = random.Random(0)
    captions = [spec.sample(rng)[1] for _ in range(40)]
    assert len({caption.split()[0] for caption in captions}) >= 3  # several phrasings drawn
    assert spec.max_caption_words == 32 and MODEL_PRESETS["portraits"].max_tokens == 34


def test_unknown_worlds_and_inconsistent_configs_are_refused():
    with pytest.raises(ValueError, match="unknown world 'faces'; choose one of shapes, portraits"):
        world_spec("faces")
    with pytest.raises(ValueError, match="needs image_size 128"):
        WorldModelConfig(world="portraits", max_tokens=34)  # 64x64 is the shapes world's size
    with pytest.raises(ValueError, match="autoencoder factor 8 != image_size 64"):
        WorldModelConfig(autoencoder_factor=8)


def test_the_portraits_autoencoder_maps_128x128_to_a_32x32_latent_of_64_image_tokens():
    config = MODEL_PRESETS["portraits"]
    torch.manual_seed(0)
    autoencoder = build_autoencoder(config).eval()
    images = torch.rand(2, 3, 128, 128) * 2 - 1
    with torch.no_grad():
        latents = autoencoder.encode(images)
        decoded = autoencoder.decode(latents)
    assert latents.shape == (2, 8, 32, 32) and autoencoder.config.factor == 4
    assert decoded.shape == (2, 3, 128, 128) and decoded.abs().max() <= 1
    shapes = MODEL_PRESETS["shapes"]
    assert (config.latent_size // config.patch_size) ** 2 == (shapes.latent_size // shapes.patch_size) ** 2 == 64


def test_the_portraits_preset_builds_the_shipped_portrait_model_layout():
    folder = world_spec("portraits").model_dir
    shipped = WorldAutoencoder.from_pretrained(folder / "autoencoder")
    built = build_autoencoder(MODEL_PRESETS["portraits"])
    assert {k: v.shape for k, v in built.state_dict().items()} == {k: v.shape for k, v in shipped.state_dict().items()}
    saved = json.loads((folder / "world_model.json").read_text())["model_config"]
    assert saved == asdict(MODEL_PRESETS["portraits"])


def test_the_shapes_preset_builds_the_shipped_autoencoder_layout():
    shipped = WorldAutoencoder.from_pretrained(BUNDLED_MODEL_DIR / "autoencoder")
    built = build_autoencoder(MODEL_PRESETS["shapes"])
    assert {k: v.shape for k, v in built.state_dict().items()} == {k: v.shape for k, v in shipped.state_dict().items()}
    assert shipped.config.factor == 4 and "world" not in json.loads((BUNDLED_MODEL_DIR / "world_model.json").read_text())
    backend = load_world_backend()  # no "world" in world_model.json: shapes
    assert backend.world.name == "shapes" and backend.info.name == "world" and backend.info.image_size == 64
    assert type(backend.default_captioner()) is WorldCaptioner


def test_portraits_smoke_training_resumes_exports_loads_and_edits(tmp_path):
    """A few steps of both phases at test size; the exported folder is a portraits backend end to end."""
    run, model_dir = tmp_path / "run", tmp_path / "model"
    config = replace(tiny_config("portraits"), autoencoder_hidden=16)
    logs: list[str] = []

    def steps(n: int) -> TrainConfig:
        return TrainConfig(steps=n, batch_size=2, checkpoint_every=1, log_every=1, threads=1, stats_batches=1)

    train_autoencoder(run, steps(2), config, log=logs.append)
    train_autoencoder(run, steps(3), config, log=logs.append)
    train_transformer(run, steps(2), config, log=logs.append)
    train_transformer(run, steps(3), config, log=logs.append)
    assert "resumed autoencoder at step 2" in logs and "resumed transformer at step 2" in logs
    records = [json.loads(line) for line in logs if line.startswith("{")]
    assert any(r.get("world") == "portraits" for r in records) and all(r["loss"] > 0 for r in records if "loss" in r)
    with pytest.raises(ValueError, match="checkpoint of another model"):
        train_transformer(run, steps(4), replace(config, num_layers=2), log=logs.append)

    export(run, model_dir, log=logs.append)
    meta = json.loads((model_dir / "world_model.json").read_text())
    assert meta["world"] == "portraits" and meta["train_step"] == 3 and meta["model_config"]["image_size"] == 128
    assert meta["generation_guidance"] == 4.0  # export's default

    backend = load_backend(str(model_dir))
    assert backend.world.name == "portraits" and backend.info.image_size == 128
    assert backend.latent_shape() == (8, 32, 32) and isinstance(backend.default_captioner(), PortraitCaptioner)
    with pytest.raises(ValueError, match="128x128 only"):
        backend.latent_shape(64, 64)
    session = EditSession(backend, render(random_portrait(random.Random(3))),
                          config=EditConfig(steps=2, start_time=0.8, refine_iters=0))
    preset = backend.default_captioner().attribute_presets(session.source_prompt)[0]
    session.set_attribute(preset.name, preset.source, preset.choices[0])
    result = session.render({preset.name: 1.0})
    assert result.image.size == (128, 128) and result.nfe > 0

    report = run_eval(str(model_dir), n_captions=2, n_inversions=1, steps=2)
    assert report["world"] == "portraits"
    assert set(report["generation"]) == {*world_spec("portraits").attributes, "all"}
    assert report["generation_misread"]  # a random model misreads: which words, how often
    for name, counts in report["generation_misread"].items():
        assert report["generation"][name] < 1 and sum(counts.values()) == round((1 - report["generation"][name]) * 2)
        assert all(" -> " in pair and pair.split(" -> ")[0] != pair.split(" -> ")[1] for pair in counts)
    offsets = report["generation_offsets"]  # where a value was read (a random model draws no face: background)
    assert offsets and set(offsets) <= set(world_spec("portraits").attributes)
    assert all(1 <= o["n"] <= 2 and o["sd"] >= 0 and o["mean_abs"] >= abs(o["mean"]) for o in offsets.values())
    assert report["inversion"]["psnr_mean"] > 0
    agreement = report["inversion"]["autoencoder_agreement"]  # what generation can reach at most, per attribute
    assert set(agreement) == set(world_spec("portraits").attributes) and all(0 <= v <= 1 for v in agreement.values())
    assert report["sampling_shift"] == report["generation_shift"] == 1.0  # the model's own
    shifted = run_eval(str(model_dir), n_captions=1, n_inversions=0, steps=2, generation_shift=3.0)
    assert shifted["generation_shift"] == 3.0 and shifted["sampling_shift"] == 1.0  # edits keep their schedule
    with pytest.raises(ValueError, match="shift must be positive"):
        run_eval(str(model_dir), n_captions=1, n_inversions=0, generation_shift=0.0)


def test_float16_export_halves_the_files_and_loads_as_float32_with_its_generation_settings(tmp_path):
    run = tmp_path / "run"
    config = replace(tiny_config("portraits"), autoencoder_hidden=16)
    train = TrainConfig(steps=1, batch_size=1, threads=1, stats_batches=1)
    train_autoencoder(run, train, config, log=lambda line: None)
    train_transformer(run, train, config, log=lambda line: None)
    sizes = {}
    for dtype in (torch.float32, torch.float16):
        export(run, tmp_path / str(dtype), log=lambda line: None, dtype=dtype, generation_guidance=2.5,
               generation_shift=3.0)
        sizes[dtype] = sum(p.stat().st_size for p in (tmp_path / str(dtype)).rglob("*.safetensors"))
    assert sizes[torch.float16] < 0.55 * sizes[torch.float32]
    backend = load_backend(str(tmp_path / str(torch.float16)))
    assert next(backend.transformer.parameters()).dtype == torch.float32
    assert backend.info.default_guidance == 2.5  # world_model.json's generation_guidance
    assert generate(backend, ["a portrait"], [0], steps=1)[0].size == (128, 128)
    # Text-to-image samples on the generation shift; edits keep the unshifted schedule they were measured with.
    assert torch.equal(backend.generation_sigmas(4), shifted_sigmas(4, 3.0))
    assert torch.equal(backend.sigmas(4), shifted_sigmas(4, 1.0))
    recording = TimeRecordingBackend(backend)
    generate(recording, ["a portrait"], [0], steps=4, guidance=1.0)
    assert list(dict.fromkeys(recording.times)) == pytest.approx(shifted_sigmas(4, 3.0)[:-1].tolist())
    meta = json.loads((tmp_path / str(torch.float16) / "world_model.json").read_text())
    del meta["generation_shift"]  # a folder exported before: generation on the edits' schedule
    (tmp_path / str(torch.float16) / "world_model.json").write_text(json.dumps(meta))
    assert load_backend(str(tmp_path / str(torch.float16))).generation_shift == 1.0

    converted = tmp_path / "converted"  # the float32 folder rewritten in float16 gives the same files
    convert(tmp_path / str(torch.float32), converted, torch.float16, log=lambda line: None)
    assert load_backend(str(converted)).generation_shift == 3.0
    assert sum(p.stat().st_size for p in converted.rglob("*.safetensors")) == sizes[torch.float16]
    assert load_backend(str(converted)).info.default_guidance == 2.5
    convert(converted, converted, torch.float32, log=lambda line: None)  # in place, back to float32
    assert sum(p.stat().st_size for p in converted.rglob("*.safetensors")) == sizes[torch.float32]
    with pytest.raises(FileNotFoundError, match="not a bundled-model folder"):
        convert(tmp_path / "run", tmp_path / "nowhere", torch.float16)


class TimeRecordingBackend(ForwardingBackend):
    """Records the noise level of every velocity call."""

    def __init__(self, backend):
        super().__init__(backend)
        self.times: list[float] = []

    def velocity(self, latents, t, embedding):
        self.times.append(float(t.flatten()[0]))
        return self.inner.velocity(latents, t, embedding)


def test_world_portraits_without_weights_is_one_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(spec_module, "ASSETS_DIR", tmp_path)  # no assets/world-portraits there
    with pytest.raises(FileNotFoundError) as caught:
        load_backend("world-portraits")
    message = str(caught.value)
    assert "\n" not in message and message.startswith("the portraits model (world-portraits) is not trained yet")
    assert PORTRAITS_COMMANDS in message
    assert main(["generate", "--model", "world-portraits", "--prompt", "a portrait", "--out",
                 str(tmp_path / "g.png")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "not trained yet" in lines[0]


def test_tiny_random_portraits_is_the_portraits_architecture_at_test_size():
    backend = load_backend("tiny-random-portraits")
    assert backend.info.name == "tiny-random-portraits" and backend.info.image_size == 128
    assert backend.world.name == "portraits" and backend.latent_shape() == (8, 32, 32)
    assert backend.tokenizer.max_length == 34 and isinstance(backend.default_captioner(), PortraitCaptioner)
    assert generate(backend, ["a portrait of a young person"], [0], steps=1)[0].size == (128, 128)


def test_the_train_command_sets_the_autoencoder_width_and_its_run_folder_remembers_it(tmp_path, capsys):
    from ems_core.cli import main

    run = tmp_path / "run"
    argv = ["world", "train", "autoencoder", "--world", "portraits", "--tiny", "--steps", "1", "--threads", "1",
            "--run-dir", str(run)]
    assert main([*argv, "--autoencoder-hidden", "16"]) == 0
    assert torch.load(run / "autoencoder.pt", weights_only=False)["model_config"]["autoencoder_hidden"] == 16
    capsys.readouterr()
    assert main([*argv, "--autoencoder-hidden", "24"]) == 2  # resuming another width is refused
    assert "checkpoint of another model" in capsys.readouterr().err
    assert main([*argv, "--autoencoder-hidden", "8"]) == 2


def test_a_coarser_latent_grid_and_smaller_patches_train_from_the_command_line_with_render_workers(tmp_path):
    """``--autoencoder-factor 8 --patch-size 2``: the earlier 16x16 portrait latent, still 64 image tokens; batches
    rendered by a worker process; the export loads as a backend with that latent and generates."""
    from ems_core.cli import main

    run, model_dir = tmp_path / "run", tmp_path / "model"
    argv = ["world", "train", "all", "--world", "portraits", "--tiny", "--ae-steps", "1", "--steps", "1", "--threads",
            "1", "--run-dir", str(run), "--autoencoder-hidden", "16", "--batch-size", "2", "--workers", "1"]
    assert main([*argv, "--autoencoder-factor", "8", "--patch-size", "2"]) == 0
    saved = torch.load(run / "transformer.pt", weights_only=False)["model_config"]
    assert (saved["autoencoder_factor"], saved["latent_size"], saved["patch_size"]) == (8, 16, 2)
    export(run, model_dir, log=lambda line: None)
    backend = load_backend(str(model_dir))
    assert backend.latent_shape() == (8, 16, 16) and backend.transformer.config.patch_size == 2
    assert generate(backend, ["a portrait"], [0], steps=1)[0].size == (128, 128)


def test_the_train_command_sets_the_transformer_depth_and_heads_and_the_export_keeps_them(tmp_path, capsys):
    from ems_core.cli import main

    run, model_dir = tmp_path / "run", tmp_path / "model"
    argv = ["world", "train", "all", "--world", "portraits", "--tiny", "--ae-steps", "1", "--steps", "1", "--threads",
            "1", "--run-dir", str(run), "--autoencoder-hidden", "16", "--batch-size", "2"]
    assert main([*argv, "--layers", "2", "--heads", "3"]) == 0
    saved = torch.load(run / "transformer.pt", weights_only=False)["model_config"]
    assert (saved["num_layers"], saved["num_attention_heads"]) == (2, 3)
    export(run, model_dir, log=lambda line: None)
    config = load_backend(str(model_dir)).transformer.config
    assert (config.num_layers, config.num_attention_heads) == (2, 3)
    capsys.readouterr()
    assert main([*argv, "--layers", "1", "--heads", "3"]) == 2  # resuming another depth is refused
    assert "checkpoint of another model" in capsys.readouterr().err
    assert main([*argv, "--heads", "0"]) == 2


def test_value_offsets_skip_words_and_subtract_hues_as_positions():
    """Offsets of the generated value from the render's: words and NaN skipped; a hue is a palette position (its
    ends are different colours), so green (0.98 here) read as natural (0.03) is far off, not near."""
    class Read:
        def __init__(self, **values):
            self.__dict__.update(values)
    asked = Read(shape="star", size=0.30, hair_hue=0.98, age=float("nan"))
    measured = Read(shape="circle", size=0.25, hair_hue=0.03, age=0.5)
    offsets = value_offsets(asked, measured, ("shape", "size", "hair_hue", "age", "missing"))
    assert set(offsets) == {"size", "hair_hue"}
    assert offsets["size"] == pytest.approx(-0.05) and offsets["hair_hue"] == pytest.approx(-0.95)
    summary = summarise_offsets({"size": [-0.1, 0.1, 0.3], "age": []})
    assert summary == {"size": {"n": 3, "mean": 0.1, "sd": pytest.approx(0.1633, abs=1e-4), "mean_abs": pytest.approx(0.1667, abs=1e-4)}}
