-- A/B results per experiment and variant (seed 002 agent_experiments): conversion rate,
-- uplift against the control, and a pooled two-proportion z-test. The p-value's normal
-- CDF is computed in SQL (macros/statistics.sql).
with assignments as (
    select experiment_id, variant, converted
    from {{ ref('stg_agentgrid__experiment_assignments') }}
),

by_variant as (
    select
        experiment_id,
        variant,
        count(*) as users,
        count(*) filter (where converted) as conversions
    from assignments
    group by experiment_id, variant
),

with_control as (
    select
        by_variant.*,
        control.users as control_users,
        control.conversions as control_conversions
    from by_variant
    left join by_variant as control
        on control.experiment_id = by_variant.experiment_id
        and control.variant = 'control'
),

statistics as (
    select
        *,
        conversions::double precision / users as conversion_rate,
        control_conversions::double precision / nullif(control_users, 0) as control_conversion_rate,
        (conversions + control_conversions)::double precision / nullif(users + control_users, 0) as pooled_rate
    from with_control
),

tested as (
    select
        *,
        case
            when variant <> 'control' and pooled_rate > 0 and pooled_rate < 1 then
                (conversion_rate - control_conversion_rate)
                / sqrt(pooled_rate * (1 - pooled_rate) * (1.0 / users + 1.0 / control_users))
        end as z_score
    from statistics
)

select
    tested.experiment_id,
    experiments.experiment_name,
    experiments.agent_id,
    experiments.status as experiment_status,
    tested.variant,
    tested.users,
    tested.conversions,
    round(tested.conversion_rate::numeric, 6) as conversion_rate,
    round(tested.control_conversion_rate::numeric, 6) as control_conversion_rate,
    round((tested.conversion_rate - tested.control_conversion_rate)::numeric, 6) as absolute_uplift,
    round((tested.conversion_rate / nullif(tested.control_conversion_rate, 0) - 1)::numeric, 6) as relative_uplift,
    round(tested.z_score::numeric, 6) as z_score,
    round({{ two_sided_p_value('tested.z_score') }}::numeric, 6) as p_value,
    coalesce({{ two_sided_p_value('tested.z_score') }} < 0.05, false) as is_significant
from tested
left join {{ ref('stg_agentgrid__agent_experiments') }} as experiments
    on experiments.experiment_id = tested.experiment_id
