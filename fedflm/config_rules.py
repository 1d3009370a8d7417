"""The rules of a run configuration that span its sections, and the loud warnings a run prints.

:class:`fedflm.config.RunConfig` checks each section on construction (its own dataclass names the
bad value) and then :func:`check_combination`: settings that are each valid but do not go together
(issue 21), refused with one line that says why. The grammars of the aggregation specs
(``fedprox:MU``, ``trimmed:BETA``, ...) live here too: the config validates them and ``fedflm.fl``
parses them with the same :func:`parse_spec`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from fedflm.errors import ConfigError
from fedflm.options import AMPLIFICATION_THREAT_MODEL, parse_long_text

if TYPE_CHECKING:  # fedflm.config imports this module
    from fedflm.config import RunConfig


def check(cond: bool, msg: str) -> None:
    """Raise :class:`ConfigError` with ``msg`` unless ``cond``."""
    if not cond:
        raise ConfigError(msg)


#: name -> (minimum, maximum) number of ``:``-separated numbers after it (issue 21)
STRATEGIES = {"fedavg": (0, 0), "fedprox": (1, 1), "fedavgm": (0, 1), "fedadam": (0, 1), "fedyogi": (0, 1),
              "fedadagrad": (0, 1)}
ROBUST_RULES = {"none": (0, 0), "norm": (1, 1), "median": (0, 0), "trimmed": (1, 1), "krum": (1, 1),
                "multikrum": (2, 2)}
ATTACKS = {"none": (0, 0), "signflip": (0, 0), "scale": (1, 1), "labelflip": (0, 0), "noise": (1, 1)}


def parse_spec(text: str, grammar: dict[str, tuple[int, int]], key: str) -> tuple[str, tuple[float, ...]]:
    """``"name:1.5:2"`` -> ``("name", (1.5, 2.0))``, checked against ``grammar``; errors name ``key``."""
    name, *raw = str(text).split(":")
    forms = " | ".join(n + "".join(f":{'X' if i < lo else '[X]'}" for i in range(hi))
                       for n, (lo, hi) in grammar.items())
    check(name in grammar and grammar[name][0] <= len(raw) <= grammar[name][1],
          f"{key} must be one of {forms}, got {text!r}")
    try:
        args = tuple(float(a) for a in raw)
    except ValueError:
        raise ConfigError(f"{key}: the numbers after {name!r} must be numbers, got {text!r}") from None
    check(all(math.isfinite(a) for a in args), f"{key}: numbers must be finite, got {text!r}")
    return name, args


def check_combination(cfg: RunConfig) -> None:
    """Refuse settings that do not go together (issue 21), with one line saying why."""
    agg, name = cfg.agg, cfg.agg.strategy.split(":")[0]
    check(not (cfg.model.lora_variant == "ffa" and cfg.train.train_mode == "head"),
          "lora_variant ffa changes how LoRA trains, but train_mode head trains no LoRA: "
          "use --train lora or lp-ft, or --lora-variant standard")
    check(not (cfg.privacy.dp == "client" and name in ("fedavgm", "fedadam", "fedyogi", "fedadagrad")),
          f"strategy {agg.strategy!r} with dp client: client-level DP adds its noise after the inner strategy, "
          "so a server optimizer would step on the un-noised mean; use fedavg or fedprox with --dp client")
    check(not (cfg.privacy.dp == "client" and agg.robust != "none"),
          f"robust {agg.robust!r} with dp client: client-level DP's noise is calibrated to the mean of clipped "
          "updates, not to a robust aggregate; use --dp sample (or none) with --robust")
    check(not (cfg.fed.init_from and cfg.train.proto_fraction > 0 and cfg.fed.rounds > 1
               and cfg.train.train_mode != "lora" and cfg.privacy.dp == "sample"),
          f"init_from {cfg.fed.init_from!r} with proto_fraction {cfg.train.proto_fraction}: the prototype round "
          "would replace the continued head; pass --proto-fraction 0 (the default when --init-from is given)")
    rule, args = parse_spec(agg.robust, ROBUST_RULES, "robust")
    n = cfg.fed.sampled_clients()
    check(not (cfg.privacy.amplify_by_sampling and cfg.train.proto_fraction > 0 and cfg.train.train_mode != "lora"
               and cfg.fed.rounds >= 2 and cfg.privacy.noise_multiplier is None),
          f"amplify_by_sampling with proto_fraction {cfg.train.proto_fraction}: round 1's prototype release is another "
          "mechanism than the DP-SGD rounds, and an owner not sampled in round 1 has no record of it, so its "
          "unsampled rounds could not be charged safely; pass --proto-fraction 0")
    check(not (cfg.privacy.amplify_by_sampling and agg.secagg),
          "amplify_by_sampling with secagg: the secure-aggregation round samples owners with Flower's seeded "
          "sampler, not the secret Poisson sampler the amplification needs; drop one of them")
    if agg.secagg:
        _check_secagg(cfg, name, n)
    if rule in ("krum", "multikrum"):
        check(n >= 2 * args[0] + 3, f"robust {agg.robust!r} needs at least 2F+3 = {int(2 * args[0] + 3)} "
                                    f"clients per round, got {n}")
    if rule == "multikrum":
        check(args[1] <= n - args[0], f"robust {agg.robust!r}: M must be at most clients per round - F = "
                                      f"{n - int(args[0])}")
    _check_training(cfg)


def _check_training(cfg: RunConfig) -> None:
    """Training options that change what one record is under sample-level DP, or need a split."""
    check(not (cfg.train.resample == "oversample" and cfg.privacy.dp == "sample"),
          "resample 'oversample' is refused under dp 'sample': duplicated records would count as "
          "independent samples in DP-SGD's sampling rate q; use --loss weighted or --resample undersample")
    check(not (cfg.train.augment != "none" and cfg.train.loss.startswith("weighted")
               and cfg.privacy.dp == "sample"),
          f"augment {cfg.train.augment!r} with loss {cfg.train.loss!r} under dp 'sample': class weights act "
          "per row, augmented copies are clipped per record; use --loss ce or focal with --augment")
    sliding = parse_long_text(cfg.data.long_text) is not None
    check(not (sliding and cfg.train.loss.startswith("weighted") and cfg.privacy.dp == "sample"),
          f"long_text {cfg.data.long_text!r} with loss {cfg.train.loss!r} under dp 'sample': class weights "
          "act per row, a document's windows are clipped per document; use --loss ce or focal")
    check(not (sliding and cfg.train.augment != "none"),
          f"long_text {cfg.data.long_text!r} with augment {cfg.train.augment!r}: both group rows into one "
          "privacy unit and cannot be combined yet; choose one")
    check(not (cfg.fed.patience and cfg.data.val_fraction <= 0),
          f"patience {cfg.fed.patience} needs a validation split: set --val-fraction (e.g. 0.5)")


#: SecAgg+ sums each coordinate modulo 2**32; no more clients than this fit the sum with quantisation to
#: at least 2**20 levels (fedflm/fl/secagg.py: quantisation_range)
SECAGG_MAX_CLIENTS = 4095


def _check_secagg(cfg: RunConfig, strategy: str, n: int) -> None:
    """Combinations that need each client's update, which --secagg hides from the server."""
    agg = cfg.agg
    check(agg.robust == "none", f"robust {agg.robust!r} with secagg: a robust rule needs each client's update, "
                                "and secure aggregation gives the server only their sum; drop one of them")
    check(cfg.privacy.dp != "client", "dp client with secagg: client-level DP clips each client's update on the "
                                      "server, which secure aggregation hides; use --dp sample with --secagg")
    check(strategy in ("fedavg", "fedprox"), f"strategy {agg.strategy!r} with secagg: the secure sum feeds "
                                             "FedAvg only in this version; use fedavg or fedprox")
    check(n >= 3, f"secagg needs at least 3 clients per round (with 2, either one learns the other's update "
                  f"from the sum), got {n}")
    check(cfg.fed.clients <= SECAGG_MAX_CLIENTS, f"secagg supports at most {SECAGG_MAX_CLIENTS} clients "
                                                 f"(the masked sum is taken modulo 2**32), got {cfg.fed.clients}")


def run_warnings(cfg: RunConfig) -> list[str]:
    """Loud warnings about insecure or non-private settings (terminal, summary, report)."""
    warnings = []
    if cfg.privacy.dp == "none":
        warnings.append("no differential privacy (--dp none): this run has NO formal privacy guarantee")
    if cfg.privacy.dp == "sample" and not cfg.privacy.secure_mode:
        warnings.append("DP secure_mode off: DP-SGD noise and sampling use PyTorch's non-cryptographic "
                        "generator (fine for simulation; use --secure-mode true in deployment)")
    if cfg.privacy.dp == "client":
        warnings.append("client-level DP clips and noises on the server: the server sees raw client "
                        "updates (clients are Poisson-sampled; noise follows the updates that arrive)")
    if cfg.privacy.amplify_by_sampling:
        warnings.append("PRIVACY AMPLIFICATION BY CLIENT SAMPLING (--amplify-by-sampling): the 'epsilon_amplified' "
                        "figures are " + AMPLIFICATION_THREAT_MODEL)
    if cfg.agg.attack != "none":
        warnings.append(f"ATTACK SIMULATION (evaluation only): {cfg.agg.attackers:.0%} of the clients send "
                        f"poisoned updates ({cfg.agg.attack}); this run's model must not be used")
    return warnings
