"""销售易 (Neocrm) endpoints and the field table of every object leadloop reads.

This file is the single place where the wire names live: if a tenant's API differs from what the
public documentation shows (details marked *unconfirmed*), this is the file to correct.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_BASE_URL = "https://api.xiaoshouyi.com"
DEFAULT_TOKEN_URL = "https://login.xiaoshouyi.com/auc/oauth2/token"
XOQL_PATH = "/rest/data/v2.0/query/xoql"
XOQL_SCROLL_PATH = "/rest/data/v2.0/query/xoqlScroll"
# A plain xoql query returns at most ~3,000 rows, so every read goes through xoqlScroll.
SCROLL_BATCH_COUNT = 2000
# Where the scroll cursor sits in the answer is unconfirmed: we read it from `data` first, then the top.
QUERY_LOCATOR_KEYS = ("queryLocator",)
CURSOR_FIELD = "updatedAt"
PRIMARY_KEY = "id"

# Arrow / dlt column types used in the field table.
STRING, BIGINT, DOUBLE, DECIMAL = "text", "bigint", "double", "decimal"


@dataclass(frozen=True)
class NeocrmObject:
    """One 销售易 object: its xoql name, the raw table (dlt resource) it lands in, its fields."""

    xoql_name: str
    resource: str
    fields: dict[str, str]
    # Tenant custom fields (customItemN__c) → the meaning leadloop gives them; overridable in config.
    custom_fields: dict[str, str] = field(default_factory=dict)


_TIMESTAMPS = {"createdAt": BIGINT, "updatedAt": BIGINT}  # epoch milliseconds, UTC instants

OBJECTS: tuple[NeocrmObject, ...] = (
    NeocrmObject(
        "user",
        "users",
        {"id": BIGINT, "name": STRING, "email": STRING, "departName": STRING, "position": STRING,
         **_TIMESTAMPS},
    ),
    NeocrmObject(
        # Opportunity stage dictionary (销售阶段). Object name unconfirmed.
        "saleStage",
        "sale_stages",
        {"id": BIGINT, "stageName": STRING, "orderNo": BIGINT, "winRate": BIGINT, **_TIMESTAMPS},
    ),
    NeocrmObject(
        "account",
        "accounts",
        {"id": BIGINT, "accountName": STRING, "industry": STRING, "province": STRING, "city": STRING,
         "employeeNumber": BIGINT, "ownerId": BIGINT, "customItem210__c": STRING, **_TIMESTAMPS},
        # 统一社会信用代码 is a tenant field; which customItem holds it differs per tenant.
        custom_fields={"customItem210__c": "unifiedSocialCreditCode"},
    ),
    NeocrmObject(
        "contact",
        "contacts",
        {"id": BIGINT, "contactName": STRING, "accountId": BIGINT, "mobile": STRING, "phone": STRING,
         "email": STRING, "post": STRING, "ownerId": BIGINT, **_TIMESTAMPS},
    ),
    NeocrmObject(
        "lead",
        "leads",
        {"id": BIGINT, "name": STRING, "mobile": STRING, "phone": STRING, "email": STRING,
         "companyName": STRING, "post": STRING, "province": STRING, "industry": STRING,
         "leadSource": STRING, "status": STRING, "ownerId": BIGINT,
         # Set when the lead is converted (SQL) and when an opportunity is opened from it.
         "accountId": BIGINT, "contactId": BIGINT, "opportunityId": BIGINT,
         "customItem201__c": STRING, "customItem202__c": STRING, "customItem203__c": STRING,
         "customItem204__c": STRING, "customItem205__c": STRING,
         **_TIMESTAMPS},
        custom_fields={
            "customItem201__c": "utmSource",
            "customItem202__c": "utmMedium",
            "customItem203__c": "utmCampaign",
            "customItem204__c": "utmTerm",
            "customItem205__c": "utmContent",
        },
    ),
    NeocrmObject(
        # Field history of lead.status (线索状态变更记录). Object name unconfirmed.
        "leadHistory",
        "lead_status_history",
        {"id": BIGINT, "leadId": BIGINT, "fieldName": STRING, "oldValue": STRING, "newValue": STRING,
         **_TIMESTAMPS},
    ),
    NeocrmObject(
        "opportunity",
        "opportunities",
        {"id": BIGINT, "opportunityName": STRING, "accountId": BIGINT, "ownerId": BIGINT,
         "money": DECIMAL, "saleStageId": BIGINT, "winRate": BIGINT, "closeDate": BIGINT,
         "reasonDesc": STRING, "opportunitySource": STRING, "opportunityType": STRING, **_TIMESTAMPS},
    ),
    NeocrmObject(
        # One row each time an opportunity enters a stage; createdAt is the moment it entered.
        # Object name unconfirmed.
        "opportunityStageHistory",
        "opportunity_stage_history",
        {"id": BIGINT, "opportunityId": BIGINT, "saleStageId": BIGINT, **_TIMESTAMPS},
    ),
    NeocrmObject(
        # 回款 (payments received). Object name unconfirmed.
        "payment",
        "payments",
        {"id": BIGINT, "opportunityId": BIGINT, "accountId": BIGINT, "amount": DECIMAL,
         "paymentDate": BIGINT, **_TIMESTAMPS},
    ),
)

OBJECTS_BY_RESOURCE = {obj.resource: obj for obj in OBJECTS}
OBJECTS_BY_XOQL_NAME = {obj.xoql_name: obj for obj in OBJECTS}

# What the client does with an answer code: the string `code` of the JSON envelope, or the HTTP
# status when there is no envelope. "reauth": fetch a new token and retry once; "retry": back off
# and retry; "fail": stop with the server's message. Any code not listed fails. Only "200" (ok)
# and "401" (token) are confirmed by the public documentation; the rest are unconfirmed.
REAUTH, RETRY, FAIL = "reauth", "retry", "fail"
OK_CODE = "200"
ERROR_CODES: dict[str, tuple[str, str]] = {
    "401": (REAUTH, "access token missing, invalid or expired"),
    "429": (RETRY, "too many requests (rate limit)"),
    "500": (RETRY, "server error"),
    "502": (RETRY, "bad gateway"),
    "503": (RETRY, "service unavailable"),
    "504": (RETRY, "gateway timeout"),
    "400": (FAIL, "bad request: usually an object or field name the tenant does not have"),
    "403": (FAIL, "forbidden: the API user lacks permission on this object"),
    "404": (FAIL, "not found: check SOURCES__NEOCRM__BASE_URL"),
}
