"""Salesforce REST endpoints, the field table of every object leadloop reads, and the error codes.

This file is the single place where the wire names live: if an org's API differs from what the
public documentation shows (details marked *unconfirmed*), this is the file to correct. Custom
fields (`…__c`) differ from org to org: map them to leadloop's meanings here or in config.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from leadloop.extract.common.arrow import BIGINT, BOOL, DATE, DECIMAL, DOUBLE, TEXT, TIMESTAMP

DEFAULT_LOGIN_URL = "https://login.salesforce.com"
DEFAULT_API_VERSION = "v61.0"
# No lower bound by default: the first run reads every row the org has, however old (orgs hold
# years of history; a fixed start date silently skipped it). SOURCES__SALESFORCE__START sets one.
DEFAULT_START: str | None = None
TOKEN_PATH = "/services/oauth2/token"
# `queryAll` (not `query`) so deleted and merged rows come back too, with IsDeleted = true.
QUERY_ALL_PATH = "/services/data/{api_version}/queryAll"
# `query` serves the COUNT() queries (live rows only: enough to pick REST or Bulk and to report).
QUERY_PATH = "/services/data/{api_version}/query"
# Global describe (every sObject the API user can see) and one object's describe (its fields).
SOBJECTS_PATH = "/services/data/{api_version}/sobjects"
DESCRIBE_PATH = "/services/data/{api_version}/sobjects/{sobject}/describe"
# Rows per page: Salesforce pages 2,000 rows by default; the header asks for 200-2,000.
BATCH_SIZE_HEADER = "Sforce-Query-Options"
MIN_BATCH_SIZE, MAX_BATCH_SIZE = 200, 2000
PRIMARY_KEY = "Id"
# Every REST record carries {"type", "url"} under this key: an envelope, not a field of the object.
ATTRIBUTES_KEY = "attributes"
DELETED_FIELD = "IsDeleted"
CURSOR_FIELD = "SystemModstamp"
CREATED_FIELD = "CreatedDate"  # how far back the history read goes is reported on this field
# Present on (nearly) every object of an org with multi-currency on, absent otherwise: selected
# wherever the describe lists it, so amounts keep their currency (raw column `currency_iso_code`).
CURRENCY_FIELD = "CurrencyIsoCode"

# -- Bulk API 2.0 ----------------------------------------------------------------------------------
# An object whose rows to read (a COUNT() with the same WHERE) exceed BULK_THRESHOLD is read with a
# Bulk API 2.0 query job instead of REST pages. REST costs one API request per 2,000 rows against
# the org's 24-hour request limit and reads its pages one after the other; a Bulk job costs a few
# requests whatever its size, and Salesforce chunks the query on its side (no QUERY_TIMEOUT on big
# tables). But a job waits in a queue for seconds to minutes and counts against the 10,000 query
# jobs a day. 50,000 rows (25 REST pages) is where that fixed wait stops mattering: nightly
# incremental reads stay on REST, a first load or backfill of a large object goes Bulk.
# Bulk API 2.0 rather than Bulk API 1.0 with PK chunking: 2.0 chunks by primary key by itself
# (history tables included), returns one result stream paged by a locator, and speaks JSON + CSV
# over the same OAuth token; PK chunking means managing one batch per Id range, polling each and
# stitching their results, with 1.0's own session header and XML job documents.
DEFAULT_BULK_THRESHOLD = 50_000
DEFAULT_BULK_POLL_SECONDS = 2.0  # first wait between job status checks; doubles up to the cap below
BULK_MAX_POLL_SECONDS = 30.0
BULK_MAX_WAIT_SECONDS = 3 * 3600.0  # a job still not complete after this fails the run
BULK_JOBS_PATH = "/services/data/{api_version}/jobs/query"
BULK_JOB_PATH = BULK_JOBS_PATH + "/{job_id}"
BULK_RESULTS_PATH = BULK_JOB_PATH + "/results"
BULK_LOCATOR_HEADER = "Sforce-Locator"
BULK_LAST_LOCATOR = "null"  # the locator header's value on the last page of results
BULK_PENDING_STATES = frozenset({"Open", "UploadComplete", "InProgress"})
BULK_COMPLETE_STATE = "JobComplete"
# Job creation refused for these reasons: the object is read over REST instead (unconfirmed codes).
BULK_FALLBACK_CODES: dict[str, str] = {
    "FeatureNotEnabled": "Bulk API 2.0 is not enabled for this org",
    "ExceededQuota": "the org's daily Bulk API query jobs are used up",
    "INVALIDENTITY": "the Bulk API does not support this object",
    "InvalidEntity": "the Bulk API does not support this object",
}

STRING, NUMBER, MONEY = TEXT, DOUBLE, DECIMAL
_STAMPS = {"CreatedDate": TIMESTAMP, "LastModifiedDate": TIMESTAMP, "SystemModstamp": TIMESTAMP}
# Who/what an activity (Task, Event) is about: WhoId a Lead or Contact, WhatId e.g. an Opportunity.
_ACTIVITY = {"Id": STRING, "IsDeleted": BOOL, "WhoId": STRING, "WhatId": STRING, "AccountId": STRING,
             "OwnerId": STRING, "Subject": STRING}
_UTM = {
    "UTM_Source__c": "utmSource",
    "UTM_Medium__c": "utmMedium",
    "UTM_Campaign__c": "utmCampaign",
    "UTM_Term__c": "utmTerm",
    "UTM_Content__c": "utmContent",
}


@dataclass(frozen=True)
class SalesforceObject:
    """One sObject: its API name, the raw table (dlt resource) it lands in, fields and cursor.

    `fields` is what leadloop reads when the org has it: fields the object's describe does not
    list are left out of the query (and so of the raw table), never an error.
    """

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
    SalesforceObject(
        # Calls and e-mails (TaskSubtype Call / Email) and other to-dos. A lead's tasks move to the
        # contact (WhoId) when the lead converts.
        "Task",
        "tasks",
        {**_ACTIVITY, "TaskSubtype": STRING, "Type": STRING, "Status": STRING, "Priority": STRING,
         "IsClosed": BOOL, "ActivityDate": DATE, "CompletedDateTime": TIMESTAMP, "CallType": STRING,
         "CallDurationInSeconds": BIGINT, **_STAMPS},
    ),
    SalesforceObject(
        # Meetings and other calendar events.
        "Event",
        "events",
        {**_ACTIVITY, "EventSubtype": STRING, "Type": STRING, "Location": STRING, "IsAllDayEvent": BOOL,
         "ActivityDate": DATE, "ActivityDateTime": TIMESTAMP, "StartDateTime": TIMESTAMP,
         "EndDateTime": TIMESTAMP, "DurationInMinutes": BIGINT, **_STAMPS},
    ),
    SalesforceObject(
        # The buying committee of a deal: which contacts play which role, one of them primary.
        "OpportunityContactRole",
        "opportunity_contact_roles",
        {"Id": STRING, "IsDeleted": BOOL, "OpportunityId": STRING, "ContactId": STRING, "Role": STRING,
         "IsPrimary": BOOL, **_STAMPS},
    ),
    SalesforceObject(
        # Field history of Opportunity (only fields with history tracking on; empty otherwise).
        # Like LeadHistory: rows never change, no SystemModstamp, read incrementally on CreatedDate.
        "OpportunityFieldHistory",
        "opportunity_field_history",
        {"Id": STRING, "IsDeleted": BOOL, "OpportunityId": STRING, "Field": STRING, "OldValue": STRING,
         "NewValue": STRING, "CreatedDate": TIMESTAMP},
        cursor="CreatedDate",
    ),
    SalesforceObject(
        # The org itself, one row: its time zone and, in a single-currency org, the corporate
        # currency every amount is in (DefaultCurrencyIsoCode; unconfirmed in multi-currency orgs,
        # where each record's CurrencyIsoCode says it). Organization has no IsDeleted.
        "Organization",
        "organization",
        {"Id": STRING, "Name": STRING, "TimeZoneSidKey": STRING, "DefaultCurrencyIsoCode": STRING,
         "LanguageLocaleKey": STRING, "DefaultLocaleSidKey": STRING, "FiscalYearStartMonth": BIGINT,
         "OrganizationType": STRING, "IsSandbox": BOOL, "InstanceName": STRING, **_STAMPS},
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
    # Fields and objects are chosen from the describe, so these two mean the org changed mid-run.
    "INVALID_FIELD": (FAIL, "a field the org does not have (its describe changed during the run?)"),
    "INVALID_TYPE": (FAIL, "an object the org does not have, or the API user may not read"),
    "SERVER_UNAVAILABLE": (RETRY, "the server is unavailable"),
    "UNKNOWN_EXCEPTION": (RETRY, "an internal server error"),
    "QUERY_TIMEOUT": (RETRY, "the query took too long"),
    "INVALID_QUERY_LOCATOR": (FAIL, "the query cursor expired (more than 15 minutes idle)"),
    "API_DISABLED_FOR_ORG": (FAIL, "the org's edition or the API user's profile has no API access"),
    "INSUFFICIENT_ACCESS": (FAIL, "the API user lacks permission"),
    "NOT_FOUND": (FAIL, "not found: check SOURCES__SALESFORCE__API_VERSION"),
    "API_ERROR": (FAIL, "the Bulk API refused the request"),
    "INVALIDJOBSTATE": (FAIL, "the Bulk API job is not in a state that allows this"),
    **{code: (FAIL, meaning) for code, meaning in BULK_FALLBACK_CODES.items()},
}
# A describe answered with one of these (or HTTP 404): the org lacks the object, or the API user
# may not read it. The object is skipped with a warning.
MISSING_OBJECT_CODES = frozenset({"NOT_FOUND", "INVALID_TYPE", "INSUFFICIENT_ACCESS"})
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
