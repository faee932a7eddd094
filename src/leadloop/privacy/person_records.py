"""Where each kind of person record lives in the raw tables: the table and column holding its id.

A person is the records the identity graph stitched (a CRM lead or contact, a Sensors user, a WeCom
contact); erasing the person means deleting every raw row that is one of those records or hangs off
one (a lead's status history, a contact's campaign memberships and activities, a user's events).
Record types are those of leadloop.identity.observations.RECORD_SOURCES.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RecordRows:
    """Rows of a raw table that belong to records of one type: `column` holds the record's id."""

    record_type: str
    table: str  # schema.table
    column: str


PERSON_RECORD_ROWS: tuple[RecordRows, ...] = (
    RecordRows("neocrm_lead", "raw_neocrm.leads", "id"),
    RecordRows("neocrm_lead", "raw_neocrm.lead_status_history", "lead_id"),
    RecordRows("neocrm_contact", "raw_neocrm.contacts", "id"),
    RecordRows("salesforce_lead", "raw_salesforce.leads", "id"),
    RecordRows("salesforce_lead", "raw_salesforce.lead_history", "lead_id"),
    RecordRows("salesforce_lead", "raw_salesforce.campaign_members", "lead_id"),
    RecordRows("salesforce_lead", "raw_salesforce.tasks", "who_id"),
    RecordRows("salesforce_lead", "raw_salesforce.events", "who_id"),
    RecordRows("salesforce_contact", "raw_salesforce.contacts", "id"),
    RecordRows("salesforce_contact", "raw_salesforce.campaign_members", "contact_id"),
    RecordRows("salesforce_contact", "raw_salesforce.opportunity_contact_roles", "contact_id"),
    RecordRows("salesforce_contact", "raw_salesforce.tasks", "who_id"),
    RecordRows("salesforce_contact", "raw_salesforce.events", "who_id"),
    RecordRows("sensors_user", "raw_sensors.events", "user_id"),
    RecordRows("wecom_contact", "raw_wecom.external_contacts", "external_userid"),
    RecordRows("wecom_contact", "raw_wecom.follow_relations", "external_userid"),
)
