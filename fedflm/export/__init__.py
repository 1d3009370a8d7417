"""Use a finished run: export it (adapter, merged, ONNX, int8) with a model card, predict, explain."""
