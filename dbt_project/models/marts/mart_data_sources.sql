-- Which sources fed each mart in the last build: per mart and source, the source's raw tables the
-- mart reads (through any model), how many of them hold data, their rows and when the source last
-- loaded. A source a team has not configured shows with no rows: its part of the mart is empty.
-- Read from dbt's own graph at build time, so it follows the models as they change.
{%- set pairs = [] -%}
{%- set tables = [] -%}
{%- if execute -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.config.schema == 'marts'
                                            and node.name != this.identifier -%}
        {%- for table in upstream_source_tables(node.unique_id) if table.startswith('raw_') -%}
            {%- do pairs.append((node.name, table)) -%}
            {%- do tables.append(table) -%}
        {%- endfor -%}
    {%- endfor -%}
{%- endif %}

with mart_tables as (
    {#- one VALUES list, not a union of hundreds of selects (which Spark takes minutes to plan) #}
    {%- if pairs %}
    select mart_name, source_schema, raw_table
    from (values
        {%- for mart, table in pairs %}
        ('{{ mart }}', '{{ table.split(".")[0] }}', '{{ table }}'){{ ',' if not loop.last }}
        {%- endfor %}
    ) as pairs (mart_name, source_schema, raw_table)
    {%- else %}
    select
        cast(null as {{ dbt.type_string() }}) as mart_name,
        cast(null as {{ dbt.type_string() }}) as source_schema,
        cast(null as {{ dbt.type_string() }}) as raw_table
    where 1 = 0
    {%- endif %}
),

raw_rows as (
    {%- for table in tables | unique | sort %}
    {%- set schema_name, table_name = table.split('.') %}
    {%- set relation = adapter.get_relation(database=target.database, schema=schema_name, identifier=table_name)
                       if execute else none %}
    select '{{ table }}' as raw_table,
        {% if relation is not none %}(select count(*) from {{ relation }}){% else %}0{% endif %} as row_count
    {% if not loop.last %}union all{% endif %}
    {%- else %}
    select cast(null as {{ dbt.type_string() }}) as raw_table, 0 as row_count where 1 = 0
    {%- endfor %}
),

source_loads as (
    {%- set schemas = [] -%}
    {%- for table in tables | unique -%}{%- do schemas.append(table.split('.')[0]) -%}{%- endfor -%}
    {%- set loaded = [] -%}
    {%- for schema_name in schemas | unique | sort -%}
        {%- set relation = adapter.get_relation(database=target.database, schema=schema_name,
                                                identifier='_dlt_loads') if execute else none -%}
        {%- if relation is not none -%}{%- do loaded.append(relation) -%}{%- endif -%}
    {%- endfor %}
    {%- for relation in loaded %}
    select '{{ relation.schema }}' as source_schema, max({{ utc_timestamp('inserted_at') }}) as last_loaded_at
    from {{ relation }}
    where status = 0
    {% if not loop.last %}union all{% endif %}
    {%- else %}
    select cast(null as {{ dbt.type_string() }}) as source_schema, cast(null as {{ dbt.type_timestamp() }}) as last_loaded_at
    where 1 = 0
    {%- endfor %}
),

final as (
    select
        mart_tables.mart_name,
        substr(mart_tables.source_schema, 5) as source_name,
        cast(count(*) as integer) as raw_tables_read,
        cast(sum(case when raw_rows.row_count > 0 then 1 else 0 end) as integer) as raw_tables_with_data,
        cast(sum(raw_rows.row_count) as {{ dbt.type_bigint() }}) as raw_rows,
        sum(raw_rows.row_count) > 0 as has_fed_the_mart,
        max(source_loads.last_loaded_at) as source_last_loaded_at
    from mart_tables
    inner join raw_rows
        on mart_tables.raw_table = raw_rows.raw_table
    left join source_loads
        on mart_tables.source_schema = source_loads.source_schema
    group by mart_tables.mart_name, substr(mart_tables.source_schema, 5)
)

select * from final
