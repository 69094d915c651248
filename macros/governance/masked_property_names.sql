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
        {%- set plan = ref('stg_tracking_plan__properties') -%}
        {%- if adapter.get_relation(plan.database, plan.schema, plan.identifier) is none -%}
            {#- compile/docs on a warehouse not built yet: nothing runs, so nothing to mask;
                a run or build always builds the plan first (it is upstream) -#}
            {%- if flags.WHICH in ['run', 'build'] -%}
                {{ exceptions.raise_compiler_error(
                    'masked_property_names: ' ~ plan ~ ' does not exist; build it first') }}
            {%- endif -%}
            {{ return(names) }}
        {%- endif -%}
        {%- set rows = run_query(
            'select distinct property_name from ' ~ plan
            ~ ' where pii_class in (' ~ masked | join(', ') ~ ') order by property_name') -%}
        {%- for row in rows -%}
            {%- do names.append(row[0]) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(names) }}
{%- endmacro %}
