{#- Standard normal CDF in plain SQL: Phi(x) = (1 + erf(x / sqrt 2)) / 2, with erf from
    Abramowitz & Stegun 7.1.26 (absolute error < 1.5e-7). PostgreSQL has no erf
    and the embedded server has no PL/Python. `x` should be a column, not an expression
    with side effects: it is referenced several times. -#}
{% macro erf(x) -%}
    (sign({{ x }}) * (1 - (
        0.254829592 * (1 / (1 + 0.3275911 * abs({{ x }})))
      - 0.284496736 * power(1 / (1 + 0.3275911 * abs({{ x }})), 2)
      + 1.421413741 * power(1 / (1 + 0.3275911 * abs({{ x }})), 3)
      - 1.453152027 * power(1 / (1 + 0.3275911 * abs({{ x }})), 4)
      + 1.061405429 * power(1 / (1 + 0.3275911 * abs({{ x }})), 5)
    ) * exp(-({{ x }}) * ({{ x }}))))
{%- endmacro %}

{% macro normal_cdf(x) -%}
    (0.5 * (1 + {{ erf('(' ~ x ~ ') / sqrt(2.0)') }}))
{%- endmacro %}

{#- Two-sided p-value of a z statistic. -#}
{% macro two_sided_p_value(z) -%}
    (2 * (1 - {{ normal_cdf('abs(' ~ z ~ ')') }}))
{%- endmacro %}

{#- Division that yields NULL instead of failing on a zero denominator. -#}
{% macro safe_divide(numerator, denominator) -%}
    (({{ numerator }})::numeric / nullif(({{ denominator }})::numeric, 0))
{%- endmacro %}
