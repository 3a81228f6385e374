"""Analytics marts in dbt: staging views, marts, ML features and export-shaped tables.

The dbt project is ``dbt_project/``; its sources are the raw layer's tables, so the assets
here continue the raw lineage. The ``dbt`` resource is bound in ``orchestration/defs/resources.py``.
"""
