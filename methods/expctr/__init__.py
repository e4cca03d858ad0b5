"""ExpCTR (Yu, Zhang & Chen, WSDM 2025): methods.expctr.method:ExpCTR (registered lazily in
methods/__init__.py). Submodules: prompts (§4.1, §4.2.2), rewards (eq. 8-13), deepfm (eq. 12);
the first-token Yes/No scorer is bench.backbones.answer_scoring and the Fig. 4 grid the table
spec leaderboards/specs/expctr-fig4.yaml (`bench sweep --spec expctr-fig4`)."""
