{% macro apply_column_grants() -%}
    {{ return(adapter.dispatch('apply_column_grants', 'lawn')()) }}
{%- endmacro %}

{#- Model post-hook (PostgreSQL): the model's meta `column_grants` ({privilege: [roles]})
    as column-level privileges on the columns that carry no direct PII by the catalog
    (governed_open_columns). So an analyst reads every mart, but never an email, a name, an
    IP address or a raw payload in it. Each role first loses what it held on the table. -#}
{% macro default__apply_column_grants() -%}
    {%- set column_grants = (config.get('meta') or {}).get('column_grants') or {} -%}
    {%- if execute and column_grants -%}
        {%- set open_columns = governed_open_columns(model, this) -%}
        {%- for privilege, grantees in column_grants.items() if grantees %}
            revoke {{ privilege }} on {{ this }} from {{ grantees | join(', ') }};
            {%- if open_columns %}
            grant {{ privilege }} ({{ open_columns | join(', ') }}) on {{ this }}
                to {{ grantees | join(', ') }};
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}

{% macro duckdb__apply_column_grants() -%}
{%- endmacro %}

{% macro spark__apply_column_grants() -%}
{%- endmacro %}
