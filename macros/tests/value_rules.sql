{% test value_rules(model, rules) %}
{#- A model's value rules (accepted values, a set, a range, a pattern) in one test node and one
    read of the model (docs/test_cost.md: dbt pays a fixed cost per node, and a view is
    computed once per read). `rules` is a list; each names its `column` and one rule:
      - `accepted_values: [...]` (and `quote: false` for numbers and booleans): dbt's
        accepted_values; each distinct value outside the list is one failure
      - `in_set: [...]`: expect_column_values_to_be_in_set; each row outside is one failure
      - `min_value` and/or `max_value` (and `strictly: true` for open bounds, `strictly: max`
        or `strictly: min` for one open bound):
        expect_column_values_to_be_between; each row outside is one failure
      - `regex: '...'`: expect_column_values_to_match_regex; each row not matching is one
    Nulls pass every rule, as in the separate tests. One row per (rule, unexpected value)
    with its row count; the failure count is what the separate tests would report together. -#}
{{ config(fail_calc='coalesce(sum(failures), 0)') }}
{%- set checks = lawn_value_rule_checks(model, rules) -%}
with

violating_rows as (

    -- each rule's column as text where the row breaks the rule; only rows that break one
    select
        {%- for check in checks %}
        case when {{ check.violation }} then cast({{ check.column }} as {{ dbt.type_string() }}) end
            as rule_{{ loop.index }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ model }}
    where
        {%- for check in checks %}
        {{ 'or ' if not loop.first }}({{ check.violation }})
        {%- endfor %}

),

rule_names as (

    {%- for check in checks %}
    select
        {{ loop.index }} as rule_number,
        '{{ check.column }}' as column_name,
        '{{ check.kind }}' as rule_name
    {{- ' union all' if not loop.last }}
    {%- endfor %}

),

unexpected as (

    select
        rule_names.rule_number,
        rule_names.column_name,
        rule_names.rule_name,
        case rule_names.rule_number
            {%- for check in checks %}
            when {{ loop.index }} then violating_rows.rule_{{ loop.index }}
            {%- endfor %}
        end as unexpected_value
    from violating_rows
    cross join rule_names

)

select
    column_name,
    rule_name,
    unexpected_value,
    count(*) as n_records,
    -- accepted_values counts distinct values, the other rules rows
    case when rule_name = 'accepted_values' then 1 else count(*) end as failures
from unexpected
where unexpected_value is not null
group by rule_number, column_name, rule_name, unexpected_value
{% endtest %}

{% macro lawn_value_rule_checks(model, rules) -%}
    {#- Each rule of value_rules as {column, kind, violation}: `violation` is a predicate that is
        true on a row that breaks the rule and never true on a null value. A malformed rule
        is a compile error naming the model and the rule. -#}
    {%- if rules is string or rules is mapping or rules | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            'value_rules on ' ~ model ~ ': `rules` must be a non-empty list of rules'
        ) }}
    {%- endif -%}
    {%- set checks = [] -%}
    {%- for rule in rules -%}
        {%- set kinds = [] -%}
        {%- for kind in ['accepted_values', 'in_set', 'regex'] -%}
            {%- if rule is mapping and kind in rule -%}{%- do kinds.append(kind) -%}{%- endif -%}
        {%- endfor -%}
        {%- if rule is mapping and ('min_value' in rule or 'max_value' in rule) -%}
            {%- do kinds.append('between') -%}
        {%- endif -%}
        {%- if rule is not mapping or not rule.get('column') or kinds | length != 1 -%}
            {{ exceptions.raise_compiler_error(
                'value_rules on ' ~ model ~ ', rule ' ~ loop.index ~ ' (' ~ rule ~ '): each rule needs'
                ~ ' a `column` and exactly one of accepted_values, in_set, min_value/max_value, regex'
            ) }}
        {%- endif -%}
        {%- set column = rule['column'] -%}
        {%- set kind = kinds[0] -%}
        {%- if kind in ('accepted_values', 'in_set') -%}
            {%- set quoted = rule.get('quote', true) -%}
            {%- set literals = [] -%}
            {%- for value in rule[kind] -%}
                {%- do literals.append(("'" ~ value ~ "'") if quoted else (value | string)) -%}
            {%- endfor -%}
            {%- set violation = column ~ ' not in (' ~ literals | join(', ') ~ ')' -%}
        {%- elif kind == 'between' -%}
            {%- set strictly = rule.get('strictly') -%}
            {%- set low_op = '>' if strictly in [true, 'min'] else '>=' -%}
            {%- set high_op = '<' if strictly in [true, 'max'] else '<=' -%}
            {%- set bounds = [] -%}
            {%- if rule.get('min_value') is not none -%}
                {%- do bounds.append(column ~ ' ' ~ low_op ~ ' ' ~ rule['min_value']) -%}
            {%- endif -%}
            {%- if rule.get('max_value') is not none -%}
                {%- do bounds.append(column ~ ' ' ~ high_op ~ ' ' ~ rule['max_value']) -%}
            {%- endif -%}
            {%- set violation = column ~ ' is not null and not (' ~ bounds | join(' and ') ~ ')' -%}
        {%- else -%}
            {%- set violation = column ~ ' is not null and not '
                ~ regexp_like(column, "'" ~ rule['regex'] ~ "'") -%}
        {%- endif -%}
        {%- do checks.append({'column': column, 'kind': kind, 'violation': violation}) -%}
    {%- endfor -%}
    {{ return(checks) }}
{%- endmacro %}
