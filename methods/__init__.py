"""LLM-based methods; entries are lazy so listing them never imports torch or TRL."""

from bench.api.registry import METHODS

METHODS.register("currrl", "methods.currrl.method:CurrRLCER",
                 summary="Curr-RLCER: curriculum RL (GRPO judgment -> GRPO choose -> DPO + GRPO explain)")
METHODS.register("llm-zeroshot", "methods.currrl.method:LLMZeroShot",
                 summary="base backbone with the Curr-RLCER stage-2/3 prompts, no training")
METHODS.register("expctr", "methods.expctr.method:ExpCTR",
                 summary="ExpCTR: PPO + LoRA explanations aligned to CTR (LC/IC rewards), iterative stages")
METHODS.register("xrec", "methods.xrec.method:XRec",
                 summary="XRec: LightGCN embeddings through MoE adapters, injected at every layer of a frozen LLM")
# RLAIF explanation distillation (Albert et al.): item-KNN + KG paths -> teacher -> AI judge -> student
METHODS.register("orpo-distill", "methods.distill.method:ORPODistill",
                 summary="RLAIF: student + LoRA trained by ORPO on AI-judged teacher explanation pairs")
METHODS.register("sft-distill", "methods.distill.method:SFTDistill",
                 summary="RLAIF: student + LoRA trained by SFT on the teacher's explanations")
METHODS.register("distill-base", "methods.distill.method:DistillBase",
                 summary="RLAIF: the untrained base student explaining item-KNN + KG-path contexts")
METHODS.register("distill-teacher", "methods.distill.method:DistillTeacher",
                 summary="RLAIF: the teacher's own explanations (offline: template-teacher stand-in)")
