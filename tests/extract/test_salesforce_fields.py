"""Pure parts of the salesforce source: field selection from a describe, SOQL text, Bulk CSV pages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from leadloop.extract.common.arrow import records_to_arrow
from leadloop.extract.common.http import TransientError
from leadloop.extract.salesforce import settings
from leadloop.extract.salesforce.bulk import csv_records, job_request
from leadloop.extract.salesforce.client import build_count_soql, build_soql
from leadloop.extract.salesforce.fields import select_fields

LEAD = settings.OBJECTS_BY_SOBJECT["Lead"]
OPPORTUNITY = settings.OBJECTS_BY_SOBJECT["Opportunity"]


def test_selection_keeps_what_the_describe_lists() -> None:
    available = [name for name in LEAD.fields if name not in ("Industry", "UTM_Term__c", "UTM_Content__c")]
    selection = select_fields(LEAD, available)
    assert "Industry" not in selection.fields and "UTM_Term__c" not in selection.fields
    assert selection.missing_standard == ("Industry",)
    assert selection.missing_custom == ("UTM_Term__c", "UTM_Content__c")
    assert selection.rename["UTM_Source__c"] == "utmSource" and "UTM_Term__c" not in selection.rename
    assert list(selection.fields) == [name for name in LEAD.fields if name in available]


def test_selection_adds_currency_and_follows_the_describe_spelling() -> None:
    available = [name.lower() if name.endswith("__c") else name for name in OPPORTUNITY.fields]
    selection = select_fields(OPPORTUNITY, [*available, "CurrencyIsoCode"], {"loss_reason__C": "lossReason"})
    assert "loss_reason__c" in selection.fields and selection.rename == {"loss_reason__c": "lossReason"}
    assert selection.fields["CurrencyIsoCode"] == settings.STRING and not selection.missing


def test_soql_reads_all_history_without_a_bound() -> None:
    assert build_soql("Lead", ["Id", "Name"], cursor="SystemModstamp", since=None) == (
        "SELECT Id, Name FROM Lead ORDER BY SystemModstamp, Id"
    )
    since = datetime(2025, 1, 1, 8, 30, 15, 900_000, tzinfo=UTC)
    assert build_soql("Lead", ["Id"], cursor="SystemModstamp", since=since, ordered=False) == (
        "SELECT Id FROM Lead WHERE SystemModstamp >= 2025-01-01T08:30:15Z"
    )
    assert build_count_soql("LeadHistory", cursor="CreatedDate", before=since) == (
        "SELECT COUNT() FROM LeadHistory WHERE CreatedDate < 2025-01-01T08:30:15Z"
    )
    assert job_request("SELECT Id FROM Lead")["operation"] == "queryAll"


def test_csv_pages_type_like_json_pages() -> None:
    text = (
        '"Id","IsConverted","Amount","NumberOfEmployees","CloseDate","SystemModstamp","Name"\n'
        '"006A","true","1234.5","300","2026-01-02","2026-01-01T08:00:00.000Z","多行\n名称, ""引号"""\n'
        '"006B","false","","","","2026-01-01T08:00:01.000Z",""\n'
    )
    records = csv_records(text)
    assert records[0]["Name"] == '多行\n名称, "引号"' and records[1]["Amount"] is None
    rest = [
        {
            "Id": "006A",
            "IsConverted": True,
            "Amount": 1234.5,
            "NumberOfEmployees": 300,
            "CloseDate": "2026-01-02",
            "SystemModstamp": "2026-01-01T08:00:00.000+0000",
            "Name": '多行\n名称, "引号"',
        },
        {
            "Id": "006B",
            "IsConverted": False,
            "Amount": None,
            "NumberOfEmployees": None,
            "CloseDate": None,
            "SystemModstamp": "2026-01-01T08:00:01.000+0000",
            "Name": None,
        },
    ]
    fields = {
        "Id": "text",
        "IsConverted": "bool",
        "Amount": "decimal",
        "NumberOfEmployees": "bigint",
        "CloseDate": "date",
        "SystemModstamp": "timestamp",
        "Name": "text",
    }
    from_csv = records_to_arrow(records, fields, primary_key="Id", cursor="SystemModstamp")
    from_json = records_to_arrow(rest, fields, primary_key="Id", cursor="SystemModstamp")
    assert not from_csv.rejected and from_csv.table.equals(from_json.table)


def test_a_truncated_csv_page_is_read_again() -> None:
    with pytest.raises(TransientError):
        csv_records('"Id","Name"\n"001A"\n')
    assert csv_records("") == []
