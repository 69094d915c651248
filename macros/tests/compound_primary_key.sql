{% test compound_primary_key(model, column_list, not_null=none) %}
{#- A compound key's tests in one test node (docs/test_cost.md: dbt pays a fixed cost per
    node): expect_compound_columns_to_be_unique on `column_list` and dbt's `not_null` on each
    part listed in `not_null` (default: every part). One row per combination found more
    than once (rows whose parts are all null skipped, as in the compound test), with its
    count, and one row per part that holds nulls, with its null rows; the failure count is
    what the separate tests would report together: the repeated combinations plus the null
    rows of each part. The repeated combinations are grouped by lawn_duplicate_groups (a
    hash pass first on whole stored DuckDB relations); the null rows are counted in one
    aggregate. -#}
{{ config(fail_calc='coalesce(sum(failures), 0)') }}
{%- if column_list is string or column_list is mapping or column_list | length == 0 -%}
    {{ exceptions.raise_compiler_error(
        'compound_primary_key on ' ~ model ~ ': `column_list` must be a non-empty list of column names'
    ) }}
{%- endif -%}
{%- set required = column_list if not_null is none else not_null -%}
{%- if required is string or required is mapping or required | length == 0
    or (required | reject('in', column_list) | list | length) > 0 -%}
    {{ exceptions.raise_compiler_error(
        'compound_primary_key on ' ~ model ~ ': `not_null` must be a non-empty list of parts of'
        ~ ' `column_list` ' ~ column_list ~ ', got ' ~ not_null
    ) }}
{%- endif -%}
{%- set missing = [] -%}
{%- set parts = [] -%}
{%- for column in column_list -%}
    {%- do missing.append(column ~ ' is null') -%}
    {%- do parts.append('coalesce(cast(' ~ column ~ ' as ' ~ dbt.type_string() ~ "), '')") -%}
    {%- if not loop.last -%}{%- do parts.append("'|'") -%}{%- endif -%}
{%- endfor -%}
with

repeated_keys as (

    {{ lawn_duplicate_groups(
        model, column_list, 'not (' ~ missing | join(' and ') ~ ')', 'n_records',
        select_list=[dbt.concat(parts) ~ ' as key_value']
    ) | indent(4) }}

),

null_parts as (

    {{ lawn_null_rows(model, required) | indent(4) }}

)

select
    'repeated key' as failure,
    key_value as found,
    n_records,
    1 as failures
from repeated_keys
union all
select
    'null part' as failure,
    column_name as found,
    null_rows as n_records,
    null_rows as failures
from null_parts
where null_rows > 0
{% endtest %}
