"""Provisioning agents: guards, LLM providers, domain templates (LangGraph graph built on top).

Sub-packages:
- ``agents.guards``: the SQL guard (every generated query) and the URL guard / safe fetcher.
- ``agents.llm``: ``complete_json`` behind the Anthropic and offline template providers,
  with every call written to the app database's ``llm_usage`` table.
- ``agents.templates``: domain templates (schema, golden queries, instructions, demo outline)
  and ``detect_domain``.
- ``agents.schemas``: the pydantic models the agents exchange, and ``schema_to_ddl``.
"""
