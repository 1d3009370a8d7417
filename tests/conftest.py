"""Shared fixtures: a tiny random BERT (built from a config) with a tokenizer trained on the fly, and a tiny
random Llama (tests/causal, the causal-lm deployment test in tests/deploy).

Real code paths (``from_pretrained`` on a local directory, peft LoRA, Opacus)
run against it in seconds; tests that need the real packaged MiniLM are
marked ``slow`` and say so.
"""

from __future__ import annotations

import json
import os
import resource
import time
from pathlib import Path

import pytest
from hypothesis import settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# One OpenMP/BLAS thread per process (before anything imports torch; inherited by every process a test
# starts, the test Ray cluster's workers included): `make test` runs two pytest processes side by side on
# 2 cores, and torch's default of a thread per core made its idle OpenMP threads spin against the other
# process. Measured under load (issue 19): tests/audit/test_audit_empirical.py::...canaries_are_detected
# 52 -> 19 CPU s; tests/fl/test_simulation_e2e.py + tests/audit/test_audit_empirical.py: pytest process
# 68 -> 38 CPU s. A developer's own setting wins (setdefault).
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

ROOT = Path(__file__).resolve().parent.parent

# Hypothesis' per-example deadline (200 ms) is a timing assert: on a loaded 2-core machine a first call that
# imports or warms up can take longer (tests/owner/test_settings.py failed so once at load 12-20). Properties
# are checked without it; speed is measured by the benchmarks in simulations/.
settings.register_profile("fedflm", deadline=None)
settings.load_profile("fedflm")
#: Fixtures that run a real (tiny) federation: Flower's Simulation Engine starts Ray worker processes.
FEDERATION_FIXTURES = {"sim_run_dp", "sim_run_nodp", "make_run"}


_STARTED = time.monotonic()


def pytest_terminal_summary(terminalreporter) -> None:
    """CPU seconds next to wall seconds, so that a CI log shows whether the suite waits or computes (issue 19).
    Child processes count once they are reaped (Flower's and the CLI's processes, Ray's once shut down)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    terminalreporter.write_line(
        f"CPU time: pytest {own.ru_utime + own.ru_stime:.0f} s, reaped child processes "
        f"{kids.ru_utime + kids.ru_stime:.0f} s; wall {time.monotonic() - _STARTED:.0f} s")


@pytest.fixture(scope="session")
def shared_ray_cluster():
    """One Ray cluster for this pytest process's simulations, joined through Ray's ``RAY_ADDRESS`` variable
    (read by fedflm's SimResources, and inherited by the CLI subprocesses that tests start): each
    simulation then skips a private Ray start and stop (issue 19). Started on the first test that runs a
    federation; stopped by pid when the session ends, also after a failure (tests/ray_cluster.py)."""
    from tests.ray_cluster import start_cluster, stop_cluster

    before = os.environ.get("RAY_ADDRESS")
    address, tmp = start_cluster(os.cpu_count() or 1)  # the CPUs a private Ray would have (resources.py)
    os.environ["RAY_ADDRESS"] = address
    try:
        yield address
    finally:
        if before is None:
            os.environ.pop("RAY_ADDRESS", None)
        else:
            os.environ["RAY_ADDRESS"] = before
        stop_cluster(tmp, int(address.rsplit(":", 1)[1]))


#: Slow tests here never start Ray (Flower's deployment processes): no cluster is started for them.
NO_RAY_DIRS = (ROOT / "tests" / "deploy",)


@pytest.fixture(autouse=True)
def _ray_for_federations(request: pytest.FixtureRequest) -> None:
    """Tests that may run a simulation (marked ``slow`` or ``federation``) get the shared cluster."""
    if any(Path(request.node.path).is_relative_to(d) for d in NO_RAY_DIRS):
        return
    if request.node.get_closest_marker("slow") or request.node.get_closest_marker("federation"):
        request.getfixturevalue("shared_ray_cluster")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs a real federation run ``federation`` (``make test-fast`` skips them)."""
    for item in items:
        if FEDERATION_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.federation)


def _wordpiece_vocab(corpus: list[str], size: int, special: list[str]) -> dict[str, int]:
    """A WordPiece vocabulary built the same way on every run: the special tokens, every character of the
    normalised corpus (alone and as a ``##`` continuation), then its most frequent words (ties broken
    alphabetically) up to ``size``. tokenizers' WordPieceTrainer breaks frequency ties in hash order, which
    differs from process to process: its vocabulary, and so the tiny model's outputs, changed from run to
    run (3 builds, 3 different tokenizer.json files), and a test at a threshold passed or failed by chance
    (tests/export/test_explain.py: a logit change of 0.0009 against its 1e-3 floor, once in a `make test`).
    Whole words keep the tiny model able to learn from the text: a vocabulary of the word starts and ends
    that cover the most characters (21.8 tokens per SST-2 text against 27.2 here and 20.2 for the trainer)
    left tests/train/test_local_training.py's loss drop at 0.034, below its 0.05."""
    from collections import Counter

    from tokenizers import normalizers, pre_tokenizers

    norm, pre = normalizers.BertNormalizer(lowercase=True), pre_tokenizers.BertPreTokenizer()
    words = Counter(w for text in corpus for w, _ in pre.pre_tokenize_str(norm.normalize_str(text)))
    chars = sorted({c for w in words for c in w})
    vocab = list(dict.fromkeys([*special, *chars, *("##" + c for c in chars)]))
    known = set(vocab)
    for word, _ in sorted(words.items(), key=lambda kv: (-kv[1], kv[0])):
        if len(vocab) >= size:
            break
        if word not in known:
            vocab.append(word)
            known.add(word)
    return {token: i for i, token in enumerate(vocab)}


def build_tiny_bert(out: Path, corpus: list[str], vocab_size: int = 600) -> Path:
    """A WordPiece tokenizer over ``corpus`` (the same vocabulary on every run) saved with a tiny random BERT."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(_wordpiece_vocab(corpus, vocab_size, special), unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    from tokenizers.processors import TemplateProcessing
    tok.post_processor = TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])
    fast = BertTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                             cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=128,
                        pad_token_id=0)
    BertForSequenceClassification(config).save_pretrained(out)
    fast.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def sst2_sample() -> list[tuple[str, int]]:
    """A few thousand real SST-2 rows (text, label) from the packaged copy."""
    import gzip
    from importlib import resources

    path = resources.files("fedflm.data.builtin").joinpath("sst2_train.tsv.gz")
    with gzip.open(str(path), "rt", encoding="utf-8") as fh:
        next(fh)
        rows = [line.rstrip("\n").rsplit("\t", 1) for _, line in zip(range(3000), fh)]
    return [(t.strip(), int(y)) for t, y in rows]


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory, sst2_sample) -> Path:
    """Path of a tiny random BERT + tokenizer usable as ``--model PATH``."""
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"), [t for t, _ in sst2_sample])


@pytest.fixture(scope="session")
def no_dropout_model(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny BERT with dropout off: the cached path runs the frozen part without dropout, and tests that
    check learning get a steady signal (with dropout the tiny model's loss drop varied with the seed)."""
    import shutil

    out = tmp_path_factory.mktemp("tiny-bert-no-dropout")
    shutil.copytree(tiny_model_dir, out, dirs_exist_ok=True)
    config = json.loads((out / "config.json").read_text())
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (out / "config.json").write_text(json.dumps(config))
    return out


def _user_csv(path: Path, rows: list[tuple[str, int]]) -> Path:
    """A data owner's own CSV file (text, label as words), as ``fedflm simulate --dataset FILE`` reads it."""
    lines = ["text,label"] + [f'"{t.replace(chr(34), chr(39))}",{"positive" if y else "negative"}' for t, y in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def sim_run_nodp(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory, sst2_sample, shared_ray_cluster):
    """One tiny real federation without DP on a user's own CSV simulated without ``--prepare`` (so its
    text was never de-identified): 3 clients, IID, 96 examples each, 2 rounds; run once per session.
    LoRA + head, 20 local epochs at lr 0.01: the random tiny BERT fits its rows, so the train loss falls from
    round 1 to round 2 by 0.12-0.17 over seeds 1-6 (head mode on its random features stayed at chance, 0.69,
    and the loss moved either way by < 0.04, so the test that checks the fall was a coin toss)."""
    import fedflm

    root = tmp_path_factory.mktemp("runs")
    csv_path = _user_csv(root / "reviews.csv", sst2_sample[:1000])
    return fedflm.simulate({
        "dataset": str(csv_path), "text_column": "text", "label_column": "label",
        "model": str(tiny_model_dir), "clients": 3, "rounds": 2, "partition": "iid",
        "samples_per_client": 96, "eval_samples": 200, "batch_size": 16, "local_epochs": 20, "lr": 0.01,
        "train_mode": "lora", "out": str(root / "tiny-nodp"), "seed": 1, "dp": "none",
        "proto_fraction": 0.0})  # training in both rounds (the DP run below has a prototype round 1)


@pytest.fixture(scope="session")
def sim_run_dp(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory, shared_ray_cluster):
    """One tiny real DP-SGD federation on built-in SST-2 with ``--prepare`` (each simulated owner
    de-identifies and encrypts its partition under its own key): 2 clients, 2 rounds; once per session."""
    import fedflm

    return fedflm.simulate({
        "dataset": "sst2", "model": str(tiny_model_dir), "clients": 2, "rounds": 2, "partition": "iid",
        "samples_per_client": 48, "eval_samples": 64, "max_length": 32, "batch_size": 16, "prepare": True,
        "dp": "sample", "epsilon": 3.0, "out": str(tmp_path_factory.mktemp("runs") / "tiny-dp"), "seed": 5})


# ---- issue 23: a finished run directory built without a federation (export, predict, --init-from)
RUN_LABELS = ("negative", "positive")


def _eval_csv(path: Path, rows: list[tuple[str, int]]) -> Path:
    lines = ["text,label"] + [f'"{t.replace(chr(34), chr(39))}",{RUN_LABELS[y]}' for t, y in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_ledger(path: Path, owner: str, run_id: str, epsilons: list[float]) -> None:
    from fedflm.privacy import ledger

    for rnd, eps in enumerate(epsilons, start=1):
        ledger.append(path, {"owner_id": owner, "run_id": run_id, "round": rnd, "mechanism": "dpsgd-poisson-gaussian",
                             "accountant": "rdp", "noise_multiplier": 1.5, "sample_rate": 0.1, "steps": 10,
                             "delta": 1e-5, "epsilon": eps, "epsilon_cap": None, "max_grad_norm": 1.0})


def build_run_dir(root: Path, model_dir: Path, rows: list[tuple[str, int]], *,
                  prepare: bool = False, seed: int = 0) -> Path:
    """RUN/ as the server writes it, with a perturbed adapter (LoRA B != 0, head != 0)."""
    import torch

    from fedflm.config import RunConfig
    from fedflm.fl.rundir import config_to_toml
    from fedflm.models.lora import build_model, save_adapter

    run = root / "run"
    run.mkdir(parents=True)
    data = _eval_csv(root / "reviews.csv", rows)
    cfg = RunConfig.from_flat({"dataset": str(data), "model": str(model_dir), "clients": 2, "rounds": 2,
                               "max_length": 32, "eval_samples": 40, "prepare": prepare, "dp": "sample",
                               "epsilon": 3.0, "run_id": "run-a", "out": str(run), "partition": "iid"})
    (run / "config.toml").write_text(config_to_toml(cfg))
    model = build_model(cfg.model, RUN_LABELS, seed)
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_" in name or "classifier" in name:
                p.copy_(torch.randn_like(p) * 0.3)
        # a head that splits the sentence vectors around their mean (not one class for every text)
        from fedflm.models.lora import load_tokenizer
        enc = load_tokenizer(cfg.model)([t for t, _ in rows[:64]], padding=True, truncation=True,
                                        max_length=32, return_tensors="pt")
        model.eval()
        emb = model.base_model.model.embed(enc["input_ids"], enc["attention_mask"])
        head = model.base_model.model.classifier.modules_to_save["default"]
        head.weight.mul_(10.0)
        head.bias.copy_(-head.weight @ emb.mean(0))
    save_adapter(model, run / "adapter", RUN_LABELS)
    (run / "summary.json").write_text(json.dumps({
        "status": "complete", "rounds": 2, "label_names": list(RUN_LABELS),
        "final": {"round": 2, "accuracy": 0.5, "macro_f1": 0.4, "loss": 0.7}, "warnings": []}))
    (run / "clients.json").write_text(json.dumps({"label_names": list(RUN_LABELS), "clients": [
        {"partition_id": i, "num_examples": 10, "label_counts": [5, 5]} for i in range(2)]}))
    for owner, eps in (("client-0", [1.0, 2.5]), ("client-1", [1.1, 2.9])):
        write_ledger(run / "ledgers" / f"{owner}.jsonl", owner, "run-a", eps)
    return run


@pytest.fixture(scope="session")
def export_run_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory, sst2_sample) -> Path:
    return build_run_dir(tmp_path_factory.mktemp("export-run"), tiny_model_dir, sst2_sample[:200])


@pytest.fixture()
def make_run_dir():
    """:func:`build_run_dir` for tests that need another finished run directory."""
    return build_run_dir


@pytest.fixture(scope="session")
def tiny_bert_factory():
    """:func:`build_tiny_bert` for test packages that need a tiny BERT over their own corpus (tests/recommend)."""
    return build_tiny_bert


def build_tiny_llama(out: Path, corpus: list[str], vocab_size: int = 300) -> Path:
    """Train a byte-level BPE tokenizer on ``corpus`` and save it with a tiny random Llama."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=vocab_size,
                                                        special_tokens=["<pad>", "<s>", "</s>"],
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", bos_token="<s>", eos_token="</s>")
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=tok.get_vocab_size(), hidden_size=32, intermediate_size=64,
                         num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2,
                         max_position_embeddings=256, initializer_range=0.2, pad_token_id=0, bos_token_id=1, eos_token_id=2)
    LlamaForCausalLM(config).save_pretrained(out)
    fast.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fedflm.causal.encode import PLAIN_TEMPLATE
    from fedflm.causal.records import synthetic_records

    corpus = [PLAIN_TEMPLATE.format(prompt=r.prompt) + r.response for r in synthetic_records(400, seed=99)]
    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"), corpus)
