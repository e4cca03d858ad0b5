"""Human evaluation campaigns: a blind pairwise arena and explanation -> rating annotation.

A campaign is a folder built from finished run folders (`bench annotate create`):

    campaign.json     task (arena | coherence), seed, n, the runs and the test records they share
    campaign.sqlite   the sampled items, annotators (token digests only), what was served to
                      whom (with the side each model was shown on) and every answer (WAL)
    export/           `bench annotate export`: votes.jsonl (arena) or ratings__<run>.csv per run
                      (the CSV metrics.coherence reads as eval.human_ratings_csv), summary.json

`bench annotate serve` runs the web app (bench.annotate.app), `invite` prints one secret link
per annotator. Nothing here imports torch or a model.
"""
