"""Business constants of seed 000 that several layers enforce (the simulator writes them, the
quality rules and the dbt project check them). dbt reads its own copy (``dbt_project.yml`` vars);
``tests/test_layers.py`` keeps the two equal."""

INDUSTRIES = ("marketing", "education", "sales")
TASK_STATUSES = ("completed", "failed", "in_progress", "cancelled")
AGENT_PRICE_RANGE = (5000, 50000)
RATING_RANGE = (0, 5)
