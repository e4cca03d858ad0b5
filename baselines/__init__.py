"""Built-in baselines. Entries are lazy ("module:attr") so listing them never imports torch;
the module is imported on first use."""

from bench.api.registry import METHODS

_BASELINES = [
    # name, target, summary (what each produces is declared on its class)
    ("mf-bias", "baselines.mf_bias:MFBias",
     "biased matrix factorisation: global + user + item bias + latent factors (reference row)"),
    ("retrieval", "baselines.retrieval:Retrieval",
     "explanation = train review sentence of the item most similar to the user (MiniLM)"),
    ("nrt", "baselines.nrt:NRT",
     "NRT (Li et al. 2017): rating regression + GRU tip generation"),
    ("att2seq", "baselines.att2seq:Att2Seq",
     "Att2Seq (Dong et al. 2017): attribute-to-sequence LSTM with attention"),
    ("peter", "baselines.peter:PETER",
     "PETER (Li et al. 2021): personalised transformer, context + rating + explanation tasks"),
    ("peter+", "baselines.peter:PETERPlus",
     "PETER+ : PETER with a feature word in the input"),
    ("cer", "baselines.cer:CER",
     "CER (Raczynski et al. 2023): PETER + rating-explanation coherence alignment"),
]  # fmt: skip

METHODS.register_lazy(_BASELINES)

# ID-based CTR models through RecBole (ExpCTR Table 1), one adapter class per model name.
RECBOLE_CTR_MODELS = (
    "FM", "DeepFM", "AutoInt", "PNN", "xDeepFM", "FiGNN", "DCN", "DCNV2", "DIN", "DIEN",
    "Caser", "GRU4Rec", "SASRec", "BERT4Rec",
)  # fmt: skip
for _model in RECBOLE_CTR_MODELS:
    METHODS.register(
        f"recbole-{_model.lower()}",
        f"baselines.recbole_ctr:{_model}",
        summary=f"RecBole {_model} (ID-based CTR, scored pointwise)",
    )

# LLM CTR baselines of ExpCTR Table 1.
METHODS.register("tallrec", "baselines.tallrec:TALLRec",
                 summary="TALLRec: LoRA instruction tuning of the backbone on the yes/no task")
METHODS.register("icl", "baselines.icl:ICL",
                 summary="in-context LLM scoring: frozen backbone's yes/no probability")
