"""Simulation scales: how much of everything per day."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    name: str
    specialties: int
    agents: int
    customers: int
    platform_users: int
    tasks_per_day: int
    trials_per_day: int
    chat_sessions_per_day: int
    messages_per_session: int
    actions_per_day: int
    teams: int
    engineers_per_team: int
    epics: int


SCALES: dict[str, Scale] = {
    s.name: s
    for s in (
        Scale("tiny", 12, 30, 120, 60, 60, 8, 20, 4, 40, 3, 5, 80),
        Scale("small", 12, 120, 800, 300, 400, 30, 120, 5, 300, 5, 8, 500),
        Scale("medium", 12, 300, 4000, 1500, 3000, 150, 800, 6, 2000, 8, 10, 1200),
        # 90 days at full scale: > 1,000,000 tasks
        Scale("full", 12, 600, 20000, 5000, 13500, 600, 3000, 6, 8000, 12, 12, 2500),
    )
}


def get_scale(name: str) -> Scale:
    try:
        return SCALES[name]
    except KeyError:
        raise ValueError(f"unknown scale {name!r}; choose one of {sorted(SCALES)}") from None
