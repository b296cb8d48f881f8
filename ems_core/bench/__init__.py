"""Benchmarks as library code: the runners behind ``benchmarks/`` scripts and ``python -m ems_core world eval``.

- :mod:`.edits`: EMS edits of world scenes judged by the oracle;
- :mod:`.world_model`: faithfulness of a world model (generation, inversion round trip, latency);
- :mod:`.quality`, :mod:`.quality_run`, :mod:`.quality_report`: every edit method on the same cases
  (``python -m ems_core bench quality``); :mod:`.annotated`: cases from annotated real images;
  :mod:`.shard`: splitting a run between processes;
- :mod:`.directions`: latent directions (LOCO, T-LOCO, HSDS) read by the world oracle, beside EMS.
- :mod:`.portrait_release`: the bars a trained portrait model must clear before it ships.
"""
