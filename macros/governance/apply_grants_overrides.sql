{#- The `grants` config (dbt_project.yml) is enforced on PostgreSQL, which has roles. DuckDB
    has none (dbt-duckdb would warn on every build; there the rule is enforced by which
    schemas exist and the catalog), and a local Spark session has no grant catalog: on both
    the config is deliberately a no-op. Root-project macros override the adapters' own. -#}
{% macro duckdb__apply_grants(relation, grant_config, should_revoke=True) -%}
{%- endmacro %}

{% macro spark__apply_grants(relation, grant_config, should_revoke=True) -%}
{%- endmacro %}
