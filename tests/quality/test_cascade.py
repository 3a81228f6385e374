"""No silent cascade: facts follow their quarantined parent into quarantine, and back when it returns."""

from __future__ import annotations

import psycopg

from tests.quality.conftest import ScratchStack


def _where(stack: ScratchStack, schema: str, agent: int) -> int:
    return int(stack.scalar(f"select count(*) from {schema}.tasks where agent_id = %s", agent))  # type: ignore[arg-type]


def test_tasks_follow_an_agent_quarantined_after_they_were_loaded(scratch: ScratchStack) -> None:
    scratch.simulate(0.0)
    scratch.load()
    agent = int(scratch.scalar("select agent_id from raw.tasks group by 1 order by count(*) desc limit 1"))  # type: ignore[arg-type]
    tasks = _where(scratch, "raw", agent)
    assert tasks > 0 and _where(scratch, "quarantine", agent) == 0

    # the agent turns invalid in the source; only the agents snapshot is reloaded (the tasks' days are not)
    with psycopg.connect(scratch.app_dsn) as conn:
        price = conn.execute("select price from agents where id = %s", (agent,)).fetchone()[0]  # type: ignore[index]
        conn.execute("update agents set price = 0 where id = %s", (agent,))
    scratch.load(("agents",))
    assert _where(scratch, "raw", agent) == 0, "the agent's tasks stayed in raw, where the marts drop them silently"
    assert _where(scratch, "quarantine", agent) == tasks
    reasons = scratch.scalar("select array_agg(distinct r) from quarantine.tasks, unnest(_rules) r where agent_id = %s",
                             agent)
    assert reasons == ["agent_id_parent_quarantined"]
    source = scratch.scalar("select count(*) from tasks where created_at >= %s and created_at < %s",
                            scratch.window.start, scratch.window.end, dsn=scratch.app_dsn)
    held = scratch.scalar("select (select count(*) from raw.tasks) + (select count(*) from quarantine.tasks)")
    assert held == source

    # fixed in the source: the next snapshot brings the agent back, and its tasks with it
    with psycopg.connect(scratch.app_dsn) as conn:
        conn.execute("update agents set price = %s where id = %s", (price, agent))
    scratch.load(("agents",))
    assert _where(scratch, "raw", agent) == tasks and _where(scratch, "quarantine", agent) == 0
