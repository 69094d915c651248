{% macro plan_property_names(data_classes, required=false) -%}
    {#- Names of the tracking-plan properties whose pii_class maps (var
        governance_plan_pii_classes) to one of `data_classes`, read from the staged plan when
        the model runs (the caller declares `-- depends_on: ref('stg_tracking_plan__properties')`).
        Before the plan is built (compile/docs on a new warehouse) the list is empty; with
        `required`, a run or build then fails instead (it always builds the plan first). -#}
    {%- set names = [] -%}
    {%- if execute -%}
        {%- set classes = [] -%}
        {%- for pii_class, data_class in var('governance_plan_pii_classes').items() -%}
            {%- if data_class in data_classes -%}
                {%- do classes.append("'" ~ pii_class ~ "'") -%}
            {%- endif -%}
        {%- endfor -%}
        {%- set plan = ref('stg_tracking_plan__properties') -%}
        {%- if adapter.get_relation(plan.database, plan.schema, plan.identifier) is none -%}
            {%- if required and flags.WHICH in ['run', 'build'] -%}
                {{ exceptions.raise_compiler_error(
                    'plan_property_names: ' ~ plan ~ ' does not exist; build it first') }}
            {%- endif -%}
            {{ return(names) }}
        {%- endif -%}
        {%- if not classes -%}
            {{ return(names) }}
        {%- endif -%}
        {%- set rows = run_query(
            'select distinct property_name from ' ~ plan
            ~ ' where pii_class in (' ~ classes | join(', ') ~ ') order by property_name') -%}
        {%- for row in rows -%}
            {%- do names.append(row[0]) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(names) }}
{%- endmacro %}
