"""XRec (Ma et al., EMNLP 2024): LightGCN embeddings, MoE adapters, a frozen LLM (method.py)."""
