"""The data owner's side of secure aggregation (``--secagg``): Flower's SecAgg+ mod around the ClientApp.

Flower 1.42's :func:`~flwr.client.mod.secaggplus_mod` speaks the legacy fit format (``fitins.*`` in,
``fitres.*`` out). :func:`secagg_mod` translates around it:

* the request becomes the usual train message (``arrays`` = the global adapter, ``config`` = the run
  config), so the round runs exactly as without secagg: the owner's policy checks, DP-SGD with its own
  noise, and the privacy ledger written durably -- all before this module sees the result;
* the reply's adapter becomes this round's change (adapter after training minus the global adapter it
  started from). SecAgg+ clips each coordinate to +-``clipping_range``, quantises it, adds the pairwise
  and private masks and sends only the masked integers; the plain tensors are dropped from the reply
  (the mod clears every array record). The weight is 1 (every owner counts once in the mean).

The ``metrics`` and ``privacy`` records pass through (fedflm.owner.reply: under secagg they carry no
number computed from the owner's update or data). A refusal (an ``Error`` reply) leaves as a refusal:
nothing masked, nothing sent, and the server treats the owner as dropped.

A train request that does not come through SecAgg+ (:func:`is_masked`) is refused by the owner's policy
check (:func:`fedflm.owner.policy.check_secagg`) when its run config asks for secure aggregation (a server
cannot get one owner's plain update by claiming ``--secagg`` and skipping the protocol) and when the
owner's policy says ``require-secagg``.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import flwr.compat.common.recorddict_compat as compat
import numpy as np
from flwr.app import ConfigRecord, Context, Message, RecordDict
from flwr.app.message_type import MessageType
from flwr.client.mod import secaggplus_mod
from flwr.common import Code, FitRes, Status, ndarrays_to_parameters, parameters_to_ndarrays
from flwr.common.secure_aggregation.secaggplus_constants import RECORD_KEY_CONFIGS, RECORD_KEY_STATE

from fedflm.fl.arrays import from_record, to_record

__all__ = ["MASKED_MARK", "NAMES_KEY", "is_masked", "masked_scope", "secagg_mod"]

log = logging.getLogger("fedflm.client")

#: the fit config's list of adapter tensor names (the legacy format sends an unnamed list of arrays)
NAMES_KEY = "secagg-tensors"
#: a deployed node's light ClientApp marks the Context it forwards to the owner's warm trainer with this
#: state record while SecAgg+ wraps the request (fedflm/deploy/warm_clientapp.py); a server cannot set it:
#: the Context is the node's own, and only the owner's process can reach the trainer's 0600 socket
MASKED_MARK = "fedflm.secagg-masked"
_MASKED: contextvars.ContextVar[bool] = contextvars.ContextVar("fedflm_secagg_masked", default=False)


def is_masked() -> bool:
    """True while the ClientApp runs inside SecAgg+ (its reply leaves only masked)."""
    return _MASKED.get()


@contextmanager
def masked_scope() -> Iterator[None]:
    """Run the ClientApp inside SecAgg+: :func:`is_masked` is True within."""
    token = _MASKED.set(True)
    try:
        yield
    finally:
        _MASKED.reset(token)


class _Refused(Exception):
    """The ClientApp answered with an Error: it leaves as it is, nothing is masked or sent."""

    def __init__(self, reply: Message) -> None:
        super().__init__(reply.error.reason)
        self.reply = reply


def secagg_mod(msg: Message, ctxt: Context, call_next: Any) -> Message:
    """ClientApp mod: SecAgg+ for train messages of a secure-aggregation round, else pass through."""
    if msg.metadata.message_type != MessageType.TRAIN or RECORD_KEY_CONFIGS not in msg.content.config_records:
        return call_next(msg, ctxt)

    def train(request: Message, context: Context) -> Message:
        names, start = _as_train_request(request)
        with masked_scope():
            reply = call_next(request, context)
        if reply.has_error():
            raise _Refused(reply)
        clip = float(context.state.config_records[RECORD_KEY_STATE]["clipping_range"])
        reply.content = _as_fitres(reply.content, names, start, clip)
        return reply

    try:
        return secaggplus_mod(msg, ctxt, train)
    except _Refused as exc:
        return Message(exc.reply.error, reply_to=msg)


def _as_train_request(request: Message) -> tuple[list[str], dict[str, np.ndarray]]:
    """Rewrite a legacy fit request in place as the ClientApp's train message; (tensor names, global)."""
    content = request.content
    params = compat.arrayrecord_to_parameters(content.array_records["fitins.parameters"], keep_input=True)
    config = dict(content.config_records["fitins.config"])
    names = [str(n) for n in config.pop(NAMES_KEY)]
    start = dict(zip(names, parameters_to_ndarrays(params), strict=True))
    request.content = RecordDict({"arrays": to_record(start), "config": ConfigRecord(config)})
    return names, start


def _as_fitres(content: RecordDict, names: list[str], start: dict[str, np.ndarray], clip: float) -> RecordDict:
    """The legacy fit result SecAgg+ masks: this round's adapter change, weight 1; metrics/privacy kept."""
    state = from_record(content["arrays"])
    if sorted(state) != sorted(names):
        raise ValueError(f"secagg: the trained adapter's tensors {sorted(state)} differ from the request's")
    delta = [state[k].astype(np.float64) - start[k].astype(np.float64) for k in names]
    clipped = sum(int(np.count_nonzero(np.abs(d) > clip)) for d in delta)
    if clipped:  # the owner's log only: the count is a function of the update and never leaves
        log.warning("secagg: %d of %d coordinates of this update exceed +-%g and are clipped before masking",
                    clipped, sum(d.size for d in delta), clip)
    fitres = FitRes(Status(Code.OK, ""), ndarrays_to_parameters(delta), num_examples=1, metrics={})
    out = compat.fitres_to_recorddict(fitres, keep_input=False)
    for key in ("metrics", "privacy"):
        if key in content:
            out[key] = content[key]
    return out
