"""Which part of the model a round trains: ``head`` (LoRA frozen) or ``lora`` (LoRA + head).

With ``proto_fraction`` > 0 (head and lp-ft modes, DP-SGD or no DP) round 1 is the
``proto`` round instead: each owner sends its (noisy) per-class sums of the frozen sentence
vectors and the server sets the head from them (``fedflm.privacy.prototypes``); DP-SGD
starts from that head in round 2.

``--train head``: every round is a head round. ``--train lora``: every round trains LoRA and
the head. ``--train lp-ft`` (linear probing, then fine-tuning; Kumar et al. 2022): the first
``head_rounds`` rounds train the head on the frozen encoder, the rest LoRA and head, so the
fine-tuning starts from a head that already fits the encoder's features.
"""

from __future__ import annotations

from fedflm.config import RunConfig, TrainConfig
from fedflm.errors import ConfigError


def head_rounds(train: TrainConfig, rounds: int) -> int:
    """How many of the run's ``rounds`` are head rounds (the first ones)."""
    if train.train_mode == "head":
        return rounds
    if train.train_mode == "lora":
        return 0
    r1 = train.head_rounds or (rounds + 1) // 2
    if r1 >= rounds:
        raise ConfigError(f"lp-ft needs head_rounds < rounds (a LoRA phase), got head_rounds={r1} "
                          f"with rounds={rounds}; use --train head for a head-only run")
    return r1


def prototype_round(train: TrainConfig, dp_mode: str, rounds: int, fixed_noise: bool = False) -> bool:
    """True when round 1 releases DP prototypes: ``proto_fraction`` > 0, head or lp-ft mode, at
    least 2 rounds, sample-level DP with an epsilon target (not a fixed noise multiplier) or no
    DP. Otherwise the run has no prototype round (client-level DP clips whole updates, which
    would destroy the class sums)."""
    return (train.proto_fraction > 0 and train.train_mode != "lora" and rounds >= 2
            and (dp_mode == "none" or (dp_mode == "sample" and not fixed_noise)))


def phase_of_round(train: TrainConfig, rounds: int, server_round: int, dp_mode: str | None = None,
                   fixed_noise: bool = False) -> str:
    """``proto``, ``head`` or ``lora`` for round ``server_round`` (1-based); ``dp_mode`` None: what
    the model trains in that round, leaving the prototype release aside."""
    if server_round == 1 and dp_mode is not None and prototype_round(train, dp_mode, rounds, fixed_noise):
        return "proto"
    return "head" if server_round <= head_rounds(train, rounds) else "lora"


def phase_split_text(train: TrainConfig, rounds: int, dp_mode: str = "none", fixed_noise: bool = False) -> str:
    """One line for the printed plan: which rounds train what."""
    text = _phase_text(train, rounds)
    if prototype_round(train, dp_mode, rounds, fixed_noise):
        share = f" ({train.proto_fraction:.0%} of each owner's epsilon)" if dp_mode == "sample" else ""
        names = f", mixed with the class names' vectors (weight {train.name_prior:g}; public)" if train.name_prior else ""
        text += f"\n  round 1: prototype head from per-class sums{share}{names}; training starts in round 2"
    return text


def _phase_text(train: TrainConfig, rounds: int) -> str:
    r1 = head_rounds(train, rounds)
    if r1 == rounds:
        return f"training: head only (frozen encoder), rounds 1-{rounds}"
    if r1 == 0:
        return f"training: LoRA + head, rounds 1-{rounds}"
    head = "round 1" if r1 == 1 else f"rounds 1-{r1}"
    lora = f"round {rounds}" if r1 + 1 == rounds else f"rounds {r1 + 1}-{rounds}"
    return (f"training: lp-ft, head phase {head} (frozen encoder), then LoRA + head "
            f"{lora}; one noise multiplier for both phases, calibrated on all "
            f"{rounds} rounds")


def plan_phases_text(cfg: RunConfig, num_examples: list[int]) -> str:
    """The training split, and for lp-ft under DP-SGD how the first owner's budget divides."""
    text = phase_split_text(cfg.train, cfg.fed.rounds, cfg.privacy.dp, cfg.privacy.noise_multiplier is not None)
    r1 = head_rounds(cfg.train, cfg.fed.rounds)
    if cfg.privacy.dp == "sample" and 0 < r1 < cfg.fed.rounds and num_examples:
        from fedflm.privacy.calibration import phase_split
        from fedflm.privacy.federation import owner_plan

        plan = owner_plan(cfg.privacy, cfg.train, cfg.fed.rounds, num_examples[0])
        fixed = cfg.privacy.noise_multiplier is not None
        first = 2 if prototype_round(cfg.train, cfg.privacy.dp, cfg.fed.rounds, fixed) else 1  # 1: the release
        text += f"\n  client-0 (every owner alike: one calibration over both phases)\n" + phase_split(plan, r1, first)
    return text
