-- Who to call now and why (architecture §5): one row per person and reason.
--   dormant_account_reengaged    a person of a company that was dormant (int_touches_account_status_assessed)
--                                touched it again; hot from their first such touch after the company's last
--                                purchase and last deal opened, until the company opens a deal (sales has
--                                picked it up).
--   score_crossed_mql_threshold  the person's latest journey is still open and its score reached var
--                                lead_score_mql_threshold (mart_lead_scores); hot from the last touch up to
--                                the first day it did (the journey's lead when no touch came before).
{%- set reengaging = hot_lead_reengaging_touch_types() %}

with touch_statuses as (
    select * from {{ ref('int_touches_account_status_assessed') }}
),

touches as (
    select * from {{ ref('fct_touchpoints') }}
    where touch_type in ({{ reengaging }})
),

opportunities as (
    select * from {{ ref('fct_opportunities') }}
    where account_id is not null
),

journeys as (
    select * from {{ ref('fct_lead_journeys') }}
),

scores as (
    select * from {{ ref('mart_lead_scores') }}
),

customers as (
    select * from {{ ref('dim_customers') }}
),

accounts as (
    select * from {{ ref('dim_accounts') }}
),

users as (
    select * from {{ ref('int_crm__users') }}
),

content as (
    select * from {{ ref('content_catalog') }}
),

account_last_deals as (
    select
        account_id,
        max(opened_at) as last_opened_at
    from opportunities
    group by account_id
),

dormant_touches_ranked as (
    -- A dormant touch is followed up once the company opens a deal after it; until then it stays hot.
    select
        touch_statuses.*,
        row_number() over (
            partition by touch_statuses.customer_id
            order by touch_statuses.touched_at, touch_statuses.touchpoint_id
        ) as touch_rank
    from touch_statuses
    left join account_last_deals
        on touch_statuses.account_id = account_last_deals.account_id
    where touch_statuses.account_status = 'dormant'
        and (account_last_deals.last_opened_at is null or account_last_deals.last_opened_at < touch_statuses.touched_at)
),

dormant_reengaged as (
    select
        customer_id,
        'dormant_account_reengaged' as hot_reason,
        touched_at as hot_since,
        touchpoint_id,
        cast(null as {{ dbt.type_string() }}) as score_reasons
    from dormant_touches_ranked
    where touch_rank = 1
),

current_journeys as (
    select
        journey_id,
        customer_id,
        lead_at,
        won_at,
        lost_at,
        row_number() over (partition by customer_id order by lead_at desc, journey_id desc) as recency
    from journeys
    where customer_id is not null
),

crossings as (
    select
        scores.journey_id,
        scores.customer_id,
        current_journeys.lead_at,
        scores.score_on,
        scores.top_reasons,
        row_number() over (partition by scores.journey_id order by scores.score_on) as day_rank
    from scores
    inner join current_journeys
        on scores.journey_id = current_journeys.journey_id
        and current_journeys.recency = 1
        and current_journeys.won_at is null
        and current_journeys.lost_at is null
    where scores.is_mql_by_score
),

crossing_touches_ranked as (
    select
        crossings.journey_id,
        touches.touchpoint_id,
        touches.touched_at,
        row_number() over (
            partition by crossings.journey_id order by touches.touched_at desc, touches.touchpoint_id desc
        ) as touch_rank
    from crossings
    inner join touches
        on crossings.customer_id = touches.customer_id
        and {{ business_day('touches.touched_at') }} <= crossings.score_on
    where crossings.day_rank = 1
),

score_crossed as (
    select
        crossings.customer_id,
        'score_crossed_mql_threshold' as hot_reason,
        coalesce(crossing_touches_ranked.touched_at, crossings.lead_at) as hot_since,
        crossing_touches_ranked.touchpoint_id,
        crossings.top_reasons as score_reasons
    from crossings
    left join crossing_touches_ranked
        on crossings.journey_id = crossing_touches_ranked.journey_id
        and crossing_touches_ranked.touch_rank = 1
    where crossings.day_rank = 1
),

hot as (
    select * from dormant_reengaged
    union all
    select * from score_crossed
),

described as (
    select
        hot.customer_id,
        customers.account_id,
        accounts.account_name,
        touch_statuses.account_status,
        hot.hot_reason,
        hot.hot_since,
        hot.touchpoint_id,
        touches.touch_type,
        touches.channel,
        touches.content_id,
        customers.lead_score,
        customers.lead_grade,
        accounts.primary_crm as owner_crm,
        accounts.owner_user_id,
        users.user_name as owner_name,
        case touches.touch_type
            when 'content_read' then {{ dbt.concat(["'阅读了《'", "coalesce(content.title, touches.content_id, '')", "'》'"]) }}
            when 'web_session' then {{ dbt.concat(["'访问了官网'", "coalesce(touches.landing_page, '')"]) }}
            when 'form_submit' then '提交了表单'
            when 'ad_click' then {{ dbt.concat(["'点击了广告'", "coalesce(' ' || touches.campaign, '')"]) }}
            when 'webinar_attend' then '参加了线上研讨会'
            when 'wecom_add' then '添加了企业微信'
            else touches.touch_type
        end as touch_text,
        hot.score_reasons
    from hot
    inner join customers
        on hot.customer_id = customers.customer_id
    left join touches
        on hot.touchpoint_id = touches.touchpoint_id
    left join touch_statuses
        on hot.touchpoint_id = touch_statuses.touchpoint_id
    left join accounts
        on customers.account_id = accounts.account_id
    left join users
        on accounts.primary_crm = users.crm
        and accounts.owner_user_id = users.user_id
    left join content
        on touches.touch_type = 'content_read'
        and touches.content_id = content.material_id
),

final as (
    select
        customer_id,
        account_id,
        account_name,
        account_status,
        hot_reason,
        hot_since,
        touchpoint_id,
        touch_type,
        channel,
        content_id,
        lead_score,
        lead_grade,
        owner_crm,
        owner_user_id,
        owner_name,
        case hot_reason
            when 'dormant_account_reengaged' then {{ dbt.concat(["'沉睡客户回访：'", "touch_text"]) }}
            else {{ dbt.concat(["'评分达到 MQL 阈值'", "coalesce('：' || score_reasons, '')"]) }}
        end as why
    from described
)

select * from final
