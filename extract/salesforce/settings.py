"""Salesforce REST endpoints, the field table of every object leadloop reads, and the error codes.

This file is the single place where the wire names live: if an org's API differs from what the
public documentation shows (details marked *unconfirmed*), this is the file to correct. Custom
fields (`…__c`) differ from org to org: map them to leadloop's meanings here or in config.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from extract.common.arrow import BIGINT, BOOL, DATE, DECIMAL, DOUBLE, TEXT, TIMESTAMP

DEFAULT_LOGIN_URL = "https://login.salesforce.com"
DEFAULT_API_VERSION = "v61.0"
DEFAULT_START = "2025-01-01T00:00:00Z"
TOKEN_PATH = "/services/oauth2/token"
# `queryAll` (not `query`) so deleted and merged rows come back too, with IsDeleted = true.
QUERY_ALL_PATH = "/services/data/{api_version}/queryAll"
QUERY_PATH = "/services/data/{api_version}/query"
# Rows per page: Salesforce pages 2,000 rows by default; the header asks for 200-2,000.
BATCH_SIZE_HEADER = "Sforce-Query-Options"
MIN_BATCH_SIZE, MAX_BATCH_SIZE = 200, 2000
PRIMARY_KEY = "Id"
DELETED_FIELD = "IsDeleted"
CURSOR_FIELD = "SystemModstamp"

STRING, NUMBER, MONEY = TEXT, DOUBLE, DECIMAL
_STAMPS = {"CreatedDate": TIMESTAMP, "LastModifiedDate": TIMESTAMP, "SystemModstamp": TIMESTAMP}
_UTM = {
    "UTM_Source__c": "utmSource",
    "UTM_Medium__c": "utmMedium",
    "UTM_Campaign__c": "utmCampaign",
    "UTM_Term__c": "utmTerm",
    "UTM_Content__c": "utmContent",
}


@dataclass(frozen=True)
class SalesforceObject:
    """One sObject: its API name, the raw table (dlt resource) it lands in, fields and cursor."""

    sobject: str
    resource: str
    fields: dict[str, str]
    cursor: str = CURSOR_FIELD
    # Org custom fields (`…__c`) → the meaning leadloop gives them; overridable in config.
    custom_fields: dict[str, str] = field(default_factory=dict)


OBJECTS: tuple[SalesforceObject, ...] = (
    SalesforceObject(
        # Users cannot be deleted in Salesforce (only deactivated): User has no IsDeleted field.
        "User",
        "users",
        {"Id": STRING, "Username": STRING, "Name": STRING, "FirstName": STRING, "LastName": STRING,
         "Email": STRING, "Department": STRING, "Title": STRING, "IsActive": BOOL, **_STAMPS},
    ),
    SalesforceObject(
        "Account",
        "accounts",
        {"Id": STRING, "IsDeleted": BOOL, "Name": STRING, "Industry": STRING, "BillingState": STRING,
         "BillingCity": STRING, "NumberOfEmployees": BIGINT, "OwnerId": STRING, **_STAMPS},
    ),
    SalesforceObject(
        "Contact",
        "contacts",
        {"Id": STRING, "IsDeleted": BOOL, "AccountId": STRING, "Name": STRING, "FirstName": STRING,
         "LastName": STRING, "Title": STRING, "Email": STRING, "MobilePhone": STRING, "Phone": STRING,
         "OwnerId": STRING, **_STAMPS},
    ),
    SalesforceObject(
        "Lead",
        "leads",
        {"Id": STRING, "IsDeleted": BOOL, "Name": STRING, "FirstName": STRING, "LastName": STRING,
         "Company": STRING, "Title": STRING, "Email": STRING, "MobilePhone": STRING, "Phone": STRING,
         "State": STRING, "Industry": STRING, "LeadSource": STRING, "Status": STRING, "OwnerId": STRING,
         # Set by lead conversion (SQL); ConvertedOpportunityId once an opportunity comes of it.
         "IsConverted": BOOL, "ConvertedDate": DATE, "ConvertedAccountId": STRING,
         "ConvertedContactId": STRING, "ConvertedOpportunityId": STRING,
         **dict.fromkeys(_UTM, STRING), **_STAMPS},
        custom_fields=dict(_UTM),
    ),
    SalesforceObject(
        # Field history of Lead (field history tracking on Status). History rows never change:
        # LeadHistory has no SystemModstamp, so it is read incrementally on CreatedDate.
        "LeadHistory",
        "lead_history",
        {"Id": STRING, "IsDeleted": BOOL, "LeadId": STRING, "Field": STRING, "OldValue": STRING,
         "NewValue": STRING, "CreatedDate": TIMESTAMP},
        cursor="CreatedDate",
    ),
    SalesforceObject(
        "Opportunity",
        "opportunities",
        {"Id": STRING, "IsDeleted": BOOL, "Name": STRING, "AccountId": STRING, "OwnerId": STRING,
         "StageName": STRING, "Amount": MONEY, "Probability": NUMBER, "CloseDate": DATE,
         "IsClosed": BOOL, "IsWon": BOOL, "LeadSource": STRING, "Type": STRING, "CampaignId": STRING,
         "Loss_Reason__c": STRING, **_STAMPS},
        # Not a standard field: orgs record the loss reason in a custom picklist (name unconfirmed).
        custom_fields={"Loss_Reason__c": "lossReason"},
    ),
    SalesforceObject(
        # One row each time stage, amount, probability or close date changes (the stage history).
        "OpportunityHistory",
        "opportunity_history",
        {"Id": STRING, "IsDeleted": BOOL, "OpportunityId": STRING, "StageName": STRING, "Amount": MONEY,
         "Probability": NUMBER, "CloseDate": DATE, "CreatedDate": TIMESTAMP, "SystemModstamp": TIMESTAMP},
    ),
    SalesforceObject(
        "Campaign",
        "campaigns",
        {"Id": STRING, "IsDeleted": BOOL, "Name": STRING, "Type": STRING, "Status": STRING,
         "StartDate": DATE, "EndDate": DATE, "IsActive": BOOL, "OwnerId": STRING,
         "UTM_Source__c": STRING, "UTM_Medium__c": STRING, **_STAMPS},
        custom_fields={"UTM_Source__c": "utmSource", "UTM_Medium__c": "utmMedium"},
    ),
    SalesforceObject(
        "CampaignMember",
        "campaign_members",
        {"Id": STRING, "IsDeleted": BOOL, "CampaignId": STRING, "LeadId": STRING, "ContactId": STRING,
         "Status": STRING, "HasResponded": BOOL, "FirstRespondedDate": DATE, **_STAMPS},
    ),
)

OBJECTS_BY_RESOURCE = {obj.resource: obj for obj in OBJECTS}
OBJECTS_BY_SOBJECT = {obj.sobject: obj for obj in OBJECTS}

# What the client does with an error answer, by the `errorCode` of the REST error body
# `[{"message": …, "errorCode": …}]`. "reauth": fetch a new token and retry once; "retry": back off
# and retry; "fail": stop with the server's message. Any code not listed fails. The first four
# are confirmed by the public documentation; the rest are unconfirmed.
REAUTH, RETRY, FAIL = "reauth", "retry", "fail"
ERROR_CODES: dict[str, tuple[str, str]] = {
    "INVALID_SESSION_ID": (REAUTH, "the access token expired or was revoked"),
    "REQUEST_LIMIT_EXCEEDED": (
        RETRY,
        "API request limit reached (the 24-hour org limit, or too many long-running requests)",
    ),
    "MALFORMED_QUERY": (FAIL, "the SOQL query is not valid"),
    "INVALID_FIELD": (FAIL, "a field the org does not have: fix SOURCES__SALESFORCE__CUSTOM_FIELDS"),
    "INVALID_TYPE": (FAIL, "an object the org does not have, or the API user may not read"),
    "SERVER_UNAVAILABLE": (RETRY, "the server is unavailable"),
    "UNKNOWN_EXCEPTION": (RETRY, "an internal server error"),
    "QUERY_TIMEOUT": (RETRY, "the query took too long"),
    "INVALID_QUERY_LOCATOR": (FAIL, "the query cursor expired (more than 15 minutes idle)"),
    "API_DISABLED_FOR_ORG": (FAIL, "the org's edition or the API user's profile has no API access"),
    "INSUFFICIENT_ACCESS": (FAIL, "the API user lacks permission"),
    "NOT_FOUND": (FAIL, "not found: check SOURCES__SALESFORCE__API_VERSION"),
}
# When an error answer has no (known) errorCode, its HTTP status decides.
STATUS_ACTIONS: dict[int, str] = {401: REAUTH, 408: RETRY, 429: RETRY, 500: RETRY, 502: RETRY, 503: RETRY,
                                  504: RETRY}
# OAuth errors of the token endpoint → the settings most likely wrong.
AUTH_ERRORS: dict[str, tuple[str, ...]] = {
    "invalid_client_id": ("client_id",),
    "invalid_client": ("client_id", "client_secret"),
    "invalid_grant": ("username", "password", "security_token"),
    "unsupported_grant_type": ("username", "password"),
}
