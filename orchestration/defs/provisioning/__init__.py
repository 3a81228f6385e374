"""Provisioning: requests → sensor → one run per request → ``provisioning/provisioned_demo``.

The LangGraph agents are in ``agents/``; resources ``app_db``, ``bigquery`` and ``provisioning``
(``ProvisioningSettings``: row scale, limits) are bound in ``orchestration/defs/resources.py``.
"""
