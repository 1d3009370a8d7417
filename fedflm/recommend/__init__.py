"""LM-based recommendation (issue 25, part 2): interaction logs, per-user records (history text +
candidate item text + label), a bi-encoder on the classifier's pooled sentence vectors, DP-SGD
with one *user* as the privacy unit, and ranking metrics on held-out users. The Flower apps are
``server/recommend.py`` and ``clients/recommend.py``; :mod:`fedflm.recommend.simulate` starts them."""
