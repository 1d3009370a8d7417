"""A Grid that runs each node's ClientApp function in this process (tests and protocol benchmarks).

No Simulation Engine, no Ray: every message is copied (as the wire would) and handed to its node's
function with that node's own ``Context`` (whose ``state`` persists across messages, as a SuperNode's
does). Used to exercise Flower's SecAgg+ workflow and mod exactly, without training (fedflm/fl/secagg.py).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable

from flwr.app import Context, Message, RecordDict

App = Callable[[Message, Context], "Message | None"]


class LocalGrid:
    """``send_and_receive`` / ``get_node_ids`` over in-process node functions; ``None`` = no reply (dropped)."""

    run_id = 7

    def __init__(self, apps: dict[int, App]) -> None:
        self.apps = apps
        self.contexts = {nid: Context(run_id=self.run_id, node_id=nid, node_config={}, state=RecordDict(),
                                      run_config={}) for nid in apps}
        self.seen: list[Message] = []  # every reply the server received

    def get_node_ids(self) -> list[int]:
        return list(self.apps)

    def send_and_receive(self, messages: Iterable[Message], *, timeout: float | None = None) -> list[Message]:
        replies = []
        for msg in messages:
            nid = msg.metadata.dst_node_id
            request = Message(content=copy.deepcopy(msg.content), dst_node_id=nid,
                              message_type=msg.metadata.message_type, group_id=msg.metadata.group_id)
            reply = self.apps[nid](request, self.contexts[nid])
            if reply is not None:
                replies.append(reply)
        self.seen += replies
        return replies
