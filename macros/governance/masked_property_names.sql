{% macro masked_property_names() -%}
    {#- Names of the tracking-plan properties whose pii_class maps (var
        governance_plan_pii_classes) to direct_pii or indirect_pii: they are removed from
        the properties marts show (docs/governance.md). Read from the staged plan when the
        model runs; the caller declares `-- depends_on: ref('stg_tracking_plan__properties')`. -#}
    {%- set names = [] -%}
    {%- if execute -%}
        {%- set mapping = var('governance_plan_pii_classes') -%}
        {%- set masked = [] -%}
        {%- for pii_class, data_class in mapping.items() -%}
            {%- if data_class in ['direct_pii', 'indirect_pii'] -%}
                {%- do masked.append("'" ~ pii_class ~ "'") -%}
            {%- endif -%}
        {%- endfor -%}
        {%- set rows = run_query(
            'select distinct property_name from ' ~ ref('stg_tracking_plan__properties')
            ~ ' where pii_class in (' ~ masked | join(', ') ~ ') order by property_name') -%}
        {%- for row in rows -%}
            {%- do names.append(row[0]) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(names) }}
{%- endmacro %}
