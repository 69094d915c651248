{% macro catalog_gate() -%}
    {#- The catalog gate (on-run-start): every column of every source, seed, model and
        snapshot must carry meta owner, purpose, data_class and retention_class, after
        inheritance (see catalog_column_meta), and a direct_pii column may only live where
        var('governance_direct_pii_schemas') allows it, never in a vendor-tagged model.
        Raises one compiler error listing every offending node.column. -#}
    {%- if execute -%}
        {%- set resolved = catalog_column_meta() -%}
        {%- set problems = catalog_gate_problems(resolved) -%}
        {%- if problems | length > 0 -%}
            {%- set shown = problems[:40] -%}
            {%- set more = problems | length - shown | length -%}
            {{ exceptions.raise_compiler_error(
                'catalog gate: ' ~ problems | length ~ ' problem(s) (docs/governance.md):\n  '
                ~ shown | join('\n  ')
                ~ ('\n  ... and ' ~ more ~ ' more' if more > 0 else '')
            ) }}
        {%- endif -%}
    {%- endif -%}
    select 1 as catalog_gate_passed
{%- endmacro %}
