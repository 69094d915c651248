{% macro refuse_incremental_replay() -%}
    {#- Called by the pre-hooks of incremental models: a replay (var as_of_date, docs/as_of.md)
        must not run incrementally, since the table may hold rows later than the replayed day;
        it stops compilation with one line naming the model. -#}
    {%- if is_incremental() and as_of_date() is not none -%}
        {{ exceptions.raise_compiler_error(
            this ~ ": a replay (var as_of_date) rebuilds from scratch: add --full-refresh"
        ) }}
    {%- endif -%}
{%- endmacro %}
