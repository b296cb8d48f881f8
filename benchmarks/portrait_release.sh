#!/usr/bin/env bash
# The measurements a newly trained portrait model goes through before it may replace assets/world-portraits,
# in the order the protocol needs (docs/training.md): the generation schedule is chosen on the choosing captions
# (seed 1) first; the held-out captions are read once, with the schedule chosen; then what the editor does with
# the model. Every result lands in benchmarks/results/ (records and reports in runs/) with TAG in its name.
#
# After a training, all of it in one go (export, choose, export again with the chosen shift, measure):
#
#   nohup bash benchmarks/portrait_release.sh all runs/portraits-v3 runs/wp-v3 scratch24k \
#       > runs/portrait_release_scratch24k.log 2>&1 &
#
# or stage by stage:
#
#   python -m ems_core world export --run-dir runs/portraits-v3 --out runs/wp-v3 --dtype float16 \
#       --generation-guidance 2 --generation-shift 8
#   nohup bash benchmarks/portrait_release.sh choose runs/wp-v3 scratch24k > runs/release_scratch24k.log 2>&1 &
#   # generation_schedule_scratch24k.json's "chosen" (a rule: best weakest attribute, then all at once,
#   # then the smaller shift)
#   nohup bash benchmarks/portrait_release.sh measure runs/wp-v3 scratch24k >> runs/release_scratch24k.log 2>&1 &
#
# When the verdict says every bar holds, `ship EXPORT TAG` copies the export into assets/world-portraits and the
# smile strip and quality report into docs/ (it refuses otherwise); the model card and quoted numbers stay by hand
# (`python benchmarks/portrait_card_tables.py --tag TAG` prints its tables beside the shipped model's).
#
# Each stage takes about: export 1 minute, choose 10, measure 60 (on an otherwise idle 2-core CPU). `measure` ends
# with benchmarks/portrait_release_check.py: a line per release bar, and exit status 1 when one is missed.
# A stage run again (after a session ended mid-way) skips every step whose output postdates the weights it measured.
set -euo pipefail

usage="usage: bash benchmarks/portrait_release.sh choose|measure|ship EXPORT TAG | all RUN_DIR EXPORT TAG"
results=benchmarks/results
stage=${1:-}
if [[ $stage == all ]]; then
    [[ $# -eq 4 ]] || { echo "$usage" >&2; exit 2; }
    run_dir=$2 model=$3 tag=$4
    [[ -f $run_dir/transformer.pt ]] || { echo "no training run at $run_dir (transformer.pt missing)" >&2; exit 2; }
else
    [[ $# -eq 3 ]] || { echo "$usage" >&2; exit 2; }
    model=$2 tag=$3
    [[ -f $model/world_model.json ]] || { echo "no exported model at $model (world_model.json missing)" >&2; exit 2; }
fi
[[ $tag =~ ^[A-Za-z0-9._-]+$ ]] || { echo "TAG: letters, digits, '.', '_' or '-' only" >&2; exit 2; }

step() {
    echo "== $(date -u +%FT%TZ) $*"
    "$@"
}

# Rerunning a stage picks up where it stopped: a step is skipped when its output was written after the weights it
# measures (the export's world_model.json; the choice, which sweeps shifts itself, after the training checkpoint).
unless_done() {  # unless_done OUTPUT REFERENCE COMMAND...: run COMMAND unless OUTPUT is newer than REFERENCE
    local output=$1 reference=$2
    shift 2
    if [[ -e $output && $output -nt $reference ]]; then
        echo "== skipped, done on these weights: $output"
    else
        step "$@"
    fi
}

export_model() {  # export_model SHIFT: the run's weights in float16, text-to-image at guidance 2 and SHIFT
    local config=$model/world_model.json
    if [[ -f $config && $config -nt $run_dir/transformer.pt ]] && python -c 'import json, sys
sys.exit(float(json.load(open(sys.argv[1]))["generation_shift"]) != float(sys.argv[2]))' "$config" "$1"; then
        echo "== skipped, exported from this checkpoint with shift $1: $model"
        return
    fi
    step python -m ems_core world export --run-dir "$run_dir" --out "$model" --dtype float16 \
        --generation-guidance 2 --generation-shift "$1"
}

chosen_shift() {  # the shift generation_schedule.py chose by its rule
    python -c 'import json, sys; print(json.load(open(sys.argv[1]))["chosen"]["shift"])' \
        "$results/generation_schedule_$tag.json"
}

choose() {  # choose WEIGHTS: the file whose date the choice must postdate
    unless_done "$results/generation_schedule_$tag.json" "$1" \
        python benchmarks/generation_schedule.py --model "$model" --captions 200 --seed 1 --threads 2 \
        --shifts 1 4 8 12 16 --out "$results/generation_schedule_$tag.json"
}

measure() {
    unless_done "$results/portraits_eval_$tag.json" "$model/world_model.json" \
        python -m ems_core world eval --model "$model" --captions 500 --inversions 100 --guidance 2 --threads 2 \
        --out "$results/portraits_eval_$tag.json"
    unless_done "$results/portrait_sweeps_$tag.json" "$model/world_model.json" \
        python benchmarks/portrait_sweeps.py --model "$model" --portraits 20 --threads 2 \
        --out "$results/portrait_sweeps_$tag.json" --strip "runs/smile-slider-$tag.png"
    unless_done "runs/benchmark-portraits-$tag/benchmark-portraits.md" "$model/world_model.json" \
        python -m ems_core bench quality --model "$model" --threads 2 \
        --records "runs/portraits_quality_records_$tag.json" --out-dir "runs/benchmark-portraits-$tag"
    unless_done "$results/portrait_directions_$tag.json" "$model/world_model.json" \
        python benchmarks/portrait_directions.py --model "$model" --text-methods '' \
        --out "$results/portrait_directions_$tag.json"
    unless_done "$results/portrait_sds_transfer_$tag.json" "$model/world_model.json" \
        python benchmarks/portrait_directions.py --model "$model" --regions '' --sources 5 --text-methods sds \
        --text-regions none \
        --text-attributes smile,eyes,age,hair_lightness,hair_length,glasses,face_width,skin,background_lightness \
        --out "$results/portrait_sds_transfer_$tag.json"
    step python -m ems_core bench latency --quick --model "$model" --threads 1
    # the verdict last: every release bar (ems_core/bench/portrait_release.py); exits 1 when one is missed
    step python benchmarks/portrait_release_check.py --model "$model" --tag "$tag" \
        --out "$results/portrait_release_check_$tag.json"
}

ship() {  # the export into the app, and the figures and report the docs show, once every release bar holds
    local verdict=$results/portrait_release_check_$tag.json assets=assets/world-portraits docs=docs
    python -c 'import json, sys; sys.exit(0 if json.load(open(sys.argv[1]))["passed"] else 1)' "$verdict" 2>/dev/null \
        || { echo "not shipped: $verdict is missing or says a release bar was missed" >&2; exit 1; }
    local part
    for part in autoencoder text_encoder tokenizer transformer world_model.json; do
        [[ -e $model/$part ]] || { echo "not shipped: $model/$part missing" >&2; exit 1; }
    done
    for part in autoencoder text_encoder tokenizer transformer world_model.json; do
        rm -rf "${assets:?}/$part"
        cp -r "$model/$part" "$assets/$part"
    done
    cp "runs/smile-slider-$tag.png" "$docs/figures/smile-slider.png"
    cp "runs/benchmark-portraits-$tag/benchmark-portraits.md" "$docs/benchmark-portraits.md"
    rm -rf "${docs:?}/benchmark-portraits"
    cp -r "runs/benchmark-portraits-$tag/benchmark-portraits" "$docs/benchmark-portraits"
    echo "== shipped $model as $assets; still by hand: its MODEL_CARD.md and the numbers the docs quote"
    echo "   (the card's tables beside the previous model's: python benchmarks/portrait_card_tables.py --tag $tag)"
}

case $stage in
choose) choose "$model/world_model.json" ;;
measure) measure ;;
ship) ship ;;
all)
    schedule=$results/generation_schedule_$tag.json
    if ! [[ -e $schedule && $schedule -nt $run_dir/transformer.pt ]]; then  # not yet chosen on these weights
        export_model 8
        choose "$run_dir/transformer.pt"
    else
        echo "== skipped, chosen on these weights: $schedule"
    fi
    chosen=$(chosen_shift)
    echo "== chosen generation shift: $chosen"
    export_model "$chosen"  # skipped when the export already has it
    measure
    ;;
*)
    echo "$usage" >&2
    exit 2
    ;;
esac
echo "== $(date -u +%FT%TZ) done: $stage $model $tag"
