{% macro masked_property_names() -%}
    {#- Names of the tracking-plan properties whose pii_class maps (var
        governance_plan_pii_classes) to direct_pii or indirect_pii: they are removed from
        the properties marts show (docs/governance.md). Read from the staged plan when the
        model runs; the caller declares `-- depends_on: ref('stg_tracking_plan__properties')`.
        A run or build without the plan fails (it is upstream, so always built first). -#}
    {{ return(plan_property_names(['direct_pii', 'indirect_pii'], required=true)) }}
{%- endmacro %}
