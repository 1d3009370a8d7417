"""Per-token explanations with integrated gradients (Captum), shown in the terminal and as HTML.

Integrated gradients (Sundararajan et al. 2017) attribute the logit of the predicted label
to the input tokens along a straight path from a baseline to the text, in the word-embedding
space (Captum's ``LayerIntegratedGradients`` on the encoder's input embeddings). The
baseline keeps the special tokens ([CLS], [SEP]) and replaces every other token with the
pad token. Completeness: the attributions sum to ``logit(text) - logit(baseline)`` up to the
integral's approximation error, reported per text as ``delta``.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import torch
from torch import nn

from fedflm.errors import ExportError
from fedflm.models.classifier import PooledClassifier


@dataclass(frozen=True)
class Explanation:
    """Token attributions of one text for one label."""

    text: str
    label: str
    probability: float
    tokens: tuple[str, ...]
    scores: tuple[float, ...]
    logit: float
    baseline_logit: float
    delta: float  # sum(scores) - (logit - baseline_logit): the approximation error


def classifier_of(model: nn.Module) -> PooledClassifier:
    """The :class:`PooledClassifier` of a merged model or inside a peft adapter model."""
    inner = model if isinstance(model, PooledClassifier) else getattr(getattr(model, "base_model", None), "model", None)
    quantized = isinstance(model, nn.Module) and any("quantized" in type(m).__module__ for m in model.modules())
    if isinstance(inner, PooledClassifier) and not quantized:
        return inner
    raise ExportError("explanations need the PyTorch fp32 model (a run, an adapter or a merged export; "
                      "not ONNX and not --int8)")


def _baseline(input_ids: torch.Tensor, tokenizer) -> torch.Tensor:
    special = torch.tensor(tokenizer.get_special_tokens_mask(input_ids[0].tolist(), already_has_special_tokens=True),
                           dtype=torch.bool).unsqueeze(0)
    return torch.where(special, input_ids, torch.full_like(input_ids, tokenizer.pad_token_id))


def explain(model: nn.Module, tokenizer, text: str, label_names: tuple[str, ...], max_length: int = 128,
            steps: int = 64, target: int | None = None) -> Explanation:
    """Integrated-gradients attributions of ``text`` for ``target`` (default: the predicted label)."""
    from captum.attr import LayerIntegratedGradients

    net = model.eval()
    enc = tokenizer([text], truncation=True, max_length=max_length, return_tensors="pt")
    ids, mask = enc["input_ids"], enc["attention_mask"]

    def forward(input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return net(input_ids=input_ids, attention_mask=attention_mask).logits

    with torch.no_grad():
        logits = forward(ids, mask)[0]
        base = _baseline(ids, tokenizer)
        base_logits = forward(base, mask)[0]
    k = int(logits.argmax()) if target is None else int(target)
    lig = LayerIntegratedGradients(forward, classifier_of(model).encoder.get_input_embeddings())
    attr, delta = lig.attribute(ids, baselines=base, target=k, additional_forward_args=(mask,), n_steps=steps,
                                internal_batch_size=steps, return_convergence_delta=True)
    scores = attr.sum(-1)[0].detach()
    return Explanation(text=text, label=label_names[k], probability=float(torch.softmax(logits, -1)[k]),
                       tokens=tuple(tokenizer.convert_ids_to_tokens(ids[0].tolist())),
                       scores=tuple(float(s) for s in scores), logit=float(logits[k]),
                       baseline_logit=float(base_logits[k]), delta=float(delta[0]))


def _shade(score: float, scale: float) -> tuple[int, int, int]:
    """Green for tokens that push towards the label, red for those that push away."""
    a = min(1.0, abs(score) / scale) if scale > 0 else 0.0
    return (int(255 - 155 * a), 255, int(255 - 155 * a)) if score >= 0 else (255, int(255 - 155 * a), int(255 - 155 * a))


def terminal_text(e: Explanation):
    """A rich ``Text``: the tokens on coloured backgrounds, then label and probability."""
    from rich.text import Text

    scale = max((abs(s) for s in e.scores), default=0.0)
    out = Text(f"{e.label} ({e.probability:.3f}): ")
    for tok, s in zip(e.tokens, e.scores):
        r, g, b = _shade(s, scale)
        out.append(tok, style=f"black on rgb({r},{g},{b})")
        out.append(" ")
    return out


def html_table(explanations: list[Explanation]) -> str:
    """One table row per text: label and probability, the coloured tokens, the completeness check."""
    rows = []
    for e in explanations:
        scale = max((abs(s) for s in e.scores), default=0.0)
        spans = " ".join(f'<span title="{s:+.4f}" style="background:rgb{_shade(s, scale)}">{html.escape(t)}</span>'
                         for t, s in zip(e.tokens, e.scores))
        rows.append(f"<tr><td><b>{html.escape(e.label)}</b> {e.probability:.3f}</td><td>{spans}</td>"
                    f"<td>{sum(e.scores):+.4f}</td><td>{e.logit - e.baseline_logit:+.4f}</td></tr>")
    return ("<p>Integrated gradients: green tokens push towards the predicted label, red away from it (hover "
            "for the value). The attributions sum to the logit's change from the baseline (special tokens "
            "kept, every other token the pad token).</p><table><tr><th>label</th><th>tokens</th>"
            "<th>sum of attributions</th><th>logit - baseline logit</th></tr>" + "".join(rows) + "</table>")


def html_page(explanations: list[Explanation]) -> str:
    """A self-contained HTML page (no script, no network)."""
    return ("<!doctype html><meta charset='utf-8'><title>fedflm explanations</title>"
            "<style>body{font-family:sans-serif}td{padding:4px 8px;vertical-align:top}span{padding:1px 2px}</style>"
            "<h1>Integrated-gradients explanations</h1>" + html_table(explanations))


def run_examples(model: nn.Module, tokenizer, texts: list[str], label_names: tuple[str, ...], max_length: int,
                 steps: int = 32) -> dict | None:
    """``RUN/explanations.json`` of the server's own evaluation texts (None when Captum is absent):
    the examples and the HTML table that the run report shows."""
    import importlib.util

    if importlib.util.find_spec("captum") is None:
        return None
    found = [explain(model, tokenizer, t, label_names, max_length, steps=steps) for t in texts]
    return {"source": "the server's evaluation set (never client data)", "steps": steps,
            "examples": [{"text": e.text, "label": e.label, "probability": e.probability, "tokens": list(e.tokens),
                          "scores": list(e.scores), "delta": e.delta} for e in found],
            "html": html_table(found)}
