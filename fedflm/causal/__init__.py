"""Causal-LM fine-tuning (issue 25, part 1): instruction/response or plain-text records, a
response-only loss, LoRA on the attention projections, sample-level DP-SGD with one record as
one privacy unit, and held-out perplexity. The Flower apps are
``server/causal_lm.py`` and ``clients/causal_lm.py``; :mod:`fedflm.causal.simulate` starts them."""
