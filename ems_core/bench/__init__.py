"""Benchmarks as library code: the runners behind ``benchmarks/`` scripts and ``python -m ems_core world eval``.

- :mod:`.edits`: EMS edits of world scenes judged by the oracle;
- :mod:`.world_model`: faithfulness of a world model (generation, inversion round trip, latency).
- :mod:`.directions`: latent directions (LOCO, T-LOCO, HSDS) read by the world oracle, beside EMS.
"""
