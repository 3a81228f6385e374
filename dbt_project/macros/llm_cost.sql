{#- LLM cost in USD from token counts and prices per 1,000 tokens (seed 002). -#}
{% macro llm_token_cost(tokens, usd_per_1k) -%}
    (({{ tokens }})::numeric / 1000 * ({{ usd_per_1k }}))
{%- endmacro %}

{% macro llm_call_cost(prompt_tokens, completion_tokens, prompt_usd_per_1k, completion_usd_per_1k) -%}
    ({{ llm_token_cost(prompt_tokens, prompt_usd_per_1k) }} + {{ llm_token_cost(completion_tokens, completion_usd_per_1k) }})
{%- endmacro %}
