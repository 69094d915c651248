{#- The data day, published: one row (int_data_day holds the definition). -#}
select * from {{ ref('int_data_day') }}
