{% macro shown_text_property_names() -%}
    {#- The shown properties (shown_property_names) the plan types `string` on some event:
        the values a person can type an email into (a URL's query string, a referrer, an error
        text). fct_events leaves such a value out on a row where it is shaped like an email
        (shown_properties), as the user_id columns hide an email-shaped id. The caller
        declares `-- depends_on: ref('stg_tracking_plan__properties')`. -#}
    {%- set names = [] -%}
    {%- if execute -%}
        {%- set plan = ref('stg_tracking_plan__properties') -%}
        {%- if adapter.get_relation(plan.database, plan.schema, plan.identifier) is none -%}
            {{ return(names) }}
        {%- endif -%}
        {%- set shown = shown_property_names() -%}
        {%- set rows = run_query(
            'select distinct property_name from ' ~ plan
            ~ " where data_type = 'string' order by property_name") -%}
        {%- for row in rows if row[0] in shown -%}
            {%- do names.append(row[0]) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(names) }}
{%- endmacro %}
