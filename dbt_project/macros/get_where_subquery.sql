{#- Tests on daily incremental marts carry `where: "__partition_window__"` (see
    dbt_project.yml) so a partition run tests only the days it wrote: the cost of a
    day must not grow with history. Other `where` configs pass through unchanged. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {%- if '__partition_window__' in where -%}
            {%- set where = where | replace('__partition_window__', in_partition_window('day')) -%}
        {%- endif -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
