"""Registering node keys in one process (fedflm.deploy.register, called by `fedflm server start`): each key gets
Flower's own answer. Keys registered with a live SuperLink, and a key that is already registered after a restart,
are covered by the deployment tests (test_deploy_e2e.py, test_deploy_auth.py, test_deploy_faults.py' resume)."""

from __future__ import annotations

import pytest

from fedflm.deploy.control import register_nodes, write_flower_home
from fedflm.deploy.procs import free_port
from fedflm.errors import FederationError


def test_each_key_gets_flowers_unavailable_answer_when_nothing_listens(deploy_certs, tmp_path):
    # Prepare: a connection file naming a port where nothing listens
    home = write_flower_home(tmp_path / "home", f"127.0.0.1:{free_port()}", deploy_certs / "ca.pem").parent
    keys = [deploy_certs / "nodes" / "node-0.pub", deploy_certs / "nodes" / "node-1.pub"]

    # Execute
    answers = register_nodes(home, keys)

    # Assert: one answer per key, Flower's message, which ServerRun retries while the SuperLink starts
    assert list(answers) == keys
    assert all(isinstance(a, str) and "unavailable" in a for a in answers.values()), answers


def test_a_file_that_is_not_a_public_key_fails_with_flowers_reason(deploy_certs, tmp_path):
    # Prepare: the CA certificate where an OpenSSH public key belongs
    home = write_flower_home(tmp_path / "home", f"127.0.0.1:{free_port()}", deploy_certs / "ca.pem").parent

    # Execute / Assert: the whole registration fails, naming the problem, before any request is sent
    with pytest.raises(FederationError, match="registering node keys failed"):
        register_nodes(home, [deploy_certs / "ca.pem"])
