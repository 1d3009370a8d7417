"""Deployment test fixtures (defined in deploy_support.py, which tests import by its unique name)."""

from deploy_support import deploy_certs, owner_stores, processes  # noqa: F401 - pytest fixtures
