"""The contract floor: what every package of erbench may import.

Records (PredictionRow), the method base, metric names, the registry, errors, the run folder,
the metrics.json writer, progress, seeding, paths and the process roles of a launched run. Nothing
here imports a higher package (bench's app floor, baselines, methods, metrics, leaderboards):
tests/unit/test_layering.py checks it.
"""
