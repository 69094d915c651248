{#- A select of every column of `relation` plus `output_column`: the Benjamini-Hochberg
    adjusted p-value within each partition, min over k >= rank of p_(k) m / k, capped at 1,
    with m the number of non-null p-values in the partition. Null p-values stay null and
    are ranked last (explicitly: Spark sorts nulls first); ties are ranked by tie_breaker. -#}
{% macro benjamini_hochberg(relation, p_value, partition_by, tie_breaker, output_column='p_value_bh') -%}
    {%- set partition = partition_by | join(', ') -%}
    select
        bh_ranked.*,
        case
            when bh_ranked.{{ p_value }} is not null
                then least(
                        1.0,
                        min(bh_ranked.{{ p_value }} * bh_ranked.bh_tests / bh_ranked.bh_rank) over (
                            partition by {{ partition }}
                            order by bh_ranked.bh_rank desc
                            rows between unbounded preceding and current row
                        )
                    )
        end as {{ output_column }}
    from (
        select
            {{ relation }}.*,
            count({{ relation }}.{{ p_value }}) over (partition by {{ partition }}) as bh_tests,
            row_number() over (
                partition by {{ partition }}
                order by {{ relation }}.{{ p_value }} nulls last, {{ tie_breaker }}
            ) as bh_rank
        from {{ relation }}
    ) as bh_ranked
{%- endmacro %}
