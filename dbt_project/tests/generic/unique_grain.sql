{#- The combination of `columns` identifies a row (NULLs compare equal). -#}
{% test unique_grain(model, columns) %}
select {{ columns | join(', ') }}, count(*) as occurrences
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
