{#
    Where Spark (dbt-spark) needs its own form of dbt's macros; the project's forms win over the adapter's
    (dispatch search order in dbt_project.yml). The project's own dispatched macros keep their spark__
    forms next to their default (timestamps.sql, scoring.sql, …).
#}

{#  Type names as Spark spells them: the sources' yml, the seeds' column_types and the marts' contracts say
    text, varchar, double precision and timestamp with time zone (one spelling for DuckDB and PostgreSQL). #}
{% macro warehouse_type(data_type) -%}
    {{ return(adapter.dispatch('warehouse_type', 'leadloop')(data_type)) }}
{%- endmacro %}

{% macro default__warehouse_type(data_type) -%}
    {{ return(data_type) }}
{%- endmacro %}

{% macro spark__warehouse_type(data_type) -%}
    {%- set spark_names = {'text': 'string', 'varchar': 'string', 'character varying': 'string',
                           'double precision': 'double', 'float8': 'double', 'integer': 'int',
                           'timestamp with time zone': 'timestamp', 'timestamptz': 'timestamp',
                           'timestamp without time zone': 'timestamp', 'numeric': 'decimal(38, 10)'} -%}
    {%- set normalized = data_type | trim | lower -%}
    {{ return(spark_names.get(normalized, data_type)) }}
{%- endmacro %}


{# A 64-bit float: double precision on DuckDB and PostgreSQL (dbt's type_float is 32-bit on DuckDB). #}
{% macro type_double() -%}
    {{ return(warehouse_type('double precision')) }}
{%- endmacro %}


{#  Seeds: the column_types of _seeds.yml in Spark's names, then dbt-spark's own table (its rows are loaded
    with the same, now translated, types). #}
{% macro spark__create_csv_table(model, agate_table) -%}
    {%- set column_types = model['config'].get('column_types', {}) -%}
    {%- for name, data_type in column_types.items() -%}
        {%- do column_types.update({name: warehouse_type(data_type)}) -%}
    {%- endfor -%}
    {{ return(dbt.spark__create_csv_table(model, agate_table)) }}
{%- endmacro %}


{#  Enforced contracts on Spark: the model must yield exactly the contract's columns (dbt-spark selects them in the contract's order). Their
    types are checked where the contract's names are the warehouse's (DuckDB, PostgreSQL): Spark names
    every text column string and every timestamp timestamp. #}
{% macro spark__get_assert_columns_equivalent(sql) -%}
    {%- set built = get_column_schema_from_query(sql) | map(attribute='name') | map('lower') | list -%}
    {%- set declared = model['columns'].values() | map(attribute='name') | map('lower') | list -%}
    {%- if built | sort != declared | sort -%}
        {{ exceptions.raise_compiler_error("contract of " ~ model['name'] ~ ": the model yields columns "
            ~ built | join(', ') ~ " where its yml declares " ~ declared | join(', ')) }}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}


{#  listagg with its order: dbt-spark's drops `order by`. Sorts (key, value) pairs by key (ascending keys
    only: the order by of a listagg here names columns), then joins the values. #}
{% macro spark__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- if not order_by_clause -%}
        {{ return(dbt.spark__listagg(measure, delimiter_text, order_by_clause, limit_num)) }}
    {%- endif -%}
    {%- set keys = order_by_clause | trim | lower | replace('order by', '', 1) | trim -%}
    {%- if ' desc' in keys or ' nulls' in keys -%}
        {{ exceptions.raise_compiler_error("listagg on Spark sorts ascending only: " ~ order_by_clause) }}
    {%- endif -%}
    {%- set pairs = 'array_sort(collect_list(struct(' ~ keys ~ ', ' ~ measure ~ ' as listagg_value)))' -%}
    {%- set values = 'transform(' ~ pairs ~ ', pair -> pair.listagg_value)' -%}
    {%- if limit_num -%}
        {%- set values = 'slice(' ~ values ~ ', 1, ' ~ limit_num ~ ')' -%}
    {%- endif -%}
    {{ return('array_join(' ~ values ~ ', ' ~ delimiter_text ~ ')') }}
{%- endmacro %}


{#  dateadd keeping fractions of a second (dbt-spark's goes through unix seconds) and the time of day. #}
{% macro spark__dateadd(datepart, interval, from_date_or_timestamp) -%}
    timestampadd({{ datepart }}, cast({{ interval }} as bigint), {{ from_date_or_timestamp }})
{%- endmacro %}


{#  generate_series as one generator: dbt's cross join of powers of two plans slowly on Spark and yields
    doubles there (power()). #}
{% macro spark__generate_series(upper_bound) -%}
    select explode(sequence(1, {{ upper_bound }})) as generated_number
{%- endmacro %}


{#  Seed rows as SQL literals. dbt-spark's session method binds every value as the text '<value>': an
    empty cell became the string 'None' (and a quote in a cell broke the statement). #}
{% macro spark__load_csv_rows(model, agate_table) -%}
    {%- set column_types = model['config'].get('column_types', {}) -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {%- set sql -%}
            insert into {{ this.render() }} values
            {%- for row in chunk %}
            ({%- for column_name in agate_table.column_names -%}
                {%- set data_type = column_types.get(column_name, adapter.convert_type(agate_table, loop.index0)) -%}
                cast({{ seed_literal(row[loop.index0]) }} as {{ data_type }}){{ ', ' if not loop.last }}
            {%- endfor -%}){{ ',' if not loop.last }}
            {%- endfor %}
        {%- endset -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- if loop.first -%}{%- do statements.append(sql) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(statements[0] if statements else '') }}
{%- endmacro %}


{% macro seed_literal(value) -%}
    {%- if value is none -%}
        null
    {%- elif value is sameas true or value is sameas false -%}
        {{ 'true' if value else 'false' }}
    {%- elif value is number -%}
        {{ value }}
    {%- else -%}
        '{{ (value | string).replace('\\', '\\\\').replace("'", "\\'") }}'
    {%- endif -%}
{%- endmacro %}
