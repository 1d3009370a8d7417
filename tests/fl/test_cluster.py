"""``--ray-address``: an address where no cluster answers is one clear line, before anything starts."""

from __future__ import annotations

import socket
import time

import pytest

from fedflm.errors import ConfigError
from fedflm.fl.cluster import reach_cluster
from fedflm.fl.resources import SimResources


def _closed_port() -> int:
    """A loopback port on which nothing listens (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_address_where_nothing_listens_is_refused_at_once() -> None:
    # Prepare
    port = _closed_port()

    # Execute
    t0 = time.perf_counter()
    with pytest.raises(ConfigError) as info:
        reach_cluster(f"127.0.0.1:{port}")

    # Assert: one line naming the address and what to do, in seconds (ray.init would retry for minutes)
    text = str(info.value)
    assert text.startswith(f"--ray-address 127.0.0.1:{port}: no Ray cluster answers at 127.0.0.1:{port}")
    assert "ray start --head" in text and "\n" not in text
    assert time.perf_counter() - t0 < 5


def test_an_address_that_answers_is_returned_as_given() -> None:
    # Prepare: a listening loopback socket stands for the head's GCS port
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        address = f"127.0.0.1:{server.getsockname()[1]}"

        # Execute / Assert
        assert reach_cluster(address) == address
    assert reach_cluster("") == ""  # a private local Ray: nothing to reach


@pytest.mark.parametrize("address", ["localhost", "10.0.0.5:", "10.0.0.5:port", ":6379", "10.0.0.5:70000"])
def test_a_malformed_address_is_refused_when_the_resources_are_built(address: str) -> None:
    # Execute / Assert
    with pytest.raises(ConfigError, match=f"--ray-address '{address}': expected auto or HOST:PORT"):
        SimResources(ray_address=address)
