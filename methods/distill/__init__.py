"""RLAIF distillation of recommendation explanations (Albert et al., "Aligning Recommendation
Explanations to User Preferences Using LLMs Fine-Tuned by Reinforcement Learning with AI
Feedback"): methods.distill.method holds the four registered rows (orpo-distill, sft-distill,
distill-base, distill-teacher). Submodules: knn (RecBole ItemKNN + intrinsic explanation), kg
(knowledge graph), paths (Sorted Explanation Paths), context (what explainers read), prompts,
teacher, students (TRL SFT / ORPO + LoRA), params, pipeline (the checkpointed stages)."""
