{% macro scratch_table_name(scratch_name) -%}
    {#- The schema-qualified stem of the scratch tables a macro makes next to the calling
        model: `<model>__<scratch_name>`, to which the callers append suffixes of at most
        14 characters (`_changed_edges`, `_parents_59_1`). PostgreSQL cuts identifiers to
        63 bytes, so two long names that differ only at the end would become one table
        (`int_identity_deterministic_components__labels_recomputed_graph_0` and `..._1` are
        64): a stem longer than 45 characters is shortened to its first 36 and 8 hex digits
        of its md5, which keeps every name at 59 or fewer on every engine. Identifiers are
        ASCII (model and scratch names), so characters are bytes. -#}
    {%- set stem = this.identifier ~ '__' ~ scratch_name -%}
    {%- if stem | length > 45 -%}
        {%- set stem = stem[:36] ~ '_' ~ local_md5(stem)[:8] -%}
    {%- endif -%}
    {{ return(this.schema ~ '.' ~ stem) }}
{%- endmacro %}
