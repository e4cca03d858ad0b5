"""Built-in baselines; each entry is lazy so listing them never imports torch."""

from bench.registry import METHODS

METHODS.register(
    "mf-bias",
    "baselines.mf_bias:MFBias",
    summary="biased matrix factorisation rating predictor (global + user + item bias + MF)",
    produces=("rating",),
)
METHODS.register(
    "retrieval",
    "baselines.retrieval:Retrieval",
    summary="explanation = most similar train review sentence of the item (MiniLM embeddings)",
    produces=("explanation", "rating"),
)
