-- Trial conversion by agent, industry and ISO week of the trial start.
with trials as (
    select
        trials.agent_id,
        agents.industry,
        date_trunc('week', trials.trial_start at time zone 'UTC')::date as iso_week_start,
        trials.converted
    from {{ ref('stg_marketplace__trials') }} as trials
    inner join {{ ref('stg_marketplace__agents') }} as agents
        on agents.agent_id = trials.agent_id
)

select
    iso_week_start,
    extract(isoyear from iso_week_start)::int as iso_year,
    extract(week from iso_week_start)::int as iso_week,
    industry,
    agent_id,
    count(*) as trials,
    count(*) filter (where converted) as conversions,
    round(count(*) filter (where converted)::numeric / count(*), 6) as conversion_rate
from trials
group by iso_week_start, industry, agent_id
