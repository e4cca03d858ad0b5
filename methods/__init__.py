"""LLM-based methods (Curr-RLCER, ExpCTR, XRec, ORPO distillation); entries are lazy."""
