"""A deployed owner's ledger is MAC'd with its key (HKDF-separated from the store key):
it verifies with the owner's key -- also through `fedflm audit ledger` -- and fails with a wrong one."""

from __future__ import annotations

import pytest

from fedflm.errors import LedgerError
from fedflm.owner.settings import OwnerPolicy
from fedflm.privacy import ledger
from fedflm.protect.keys import generate_key, read_key_file, write_key_file
from owner_support import make_node, make_store, request

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def deployed(tmp_path_factory, sst2_sample, tiny_model_dir):
    """(node, store) after one deployed round."""
    tmp = tmp_path_factory.mktemp("mac")
    store = make_store(tmp, sst2_sample[:40])
    node = make_node(tmp, store, OwnerPolicy(max_epsilon=20.0))
    assert not node.send(request(tiny_model_dir), 1).has_error()
    return node, store


def test_deployed_ledger_verifies_with_the_owners_key_only(deployed, tmp_path):
    # Prepare
    node, store = deployed
    owner_key = read_key_file(store[1]).secret
    wrong = generate_key().secret

    # Execute
    entries = ledger.verify(node.ledger, owner_key)

    # Assert: every entry carries a MAC under a key derived from (not equal to) the store key
    assert entries and all(e["mac"] for e in entries)
    assert ledger.derive_mac_key(owner_key) != owner_key
    with pytest.raises(LedgerError, match="bad MAC"):
        ledger.verify(node.ledger, wrong)


@pytest.mark.slow  # the audit recomputes epsilon with several accountants
def test_the_audit_verifies_the_deployed_macs_with_the_key_given(deployed, tmp_path):
    # Prepare
    from fedflm.cli.main import main

    node, store = deployed
    write_key_file(tmp_path / "wrong.key", generate_key())

    # Execute
    ok = main(["audit", "ledger", str(node.ledger), "--key-file", str(store[1]), "--out", str(tmp_path / "a"),
               "--final-only"])
    bad = main(["audit", "ledger", str(node.ledger), "--key-file", str(tmp_path / "wrong.key"),
                "--out", str(tmp_path / "b"), "--final-only"])

    # Assert
    assert ok == 0 and bad != 0
