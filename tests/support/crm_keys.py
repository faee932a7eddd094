"""How the warehouse names the demo world's CRM records, so truth rows can be keyed like mart rows.

The truth (leadloop.demo.truth) speaks of the world's own ids; a mart names a journey by the record name of
its CRM lead (`neocrm_lead:<id>`, `salesforce_lead:<18-character id>`) and a deal by its CRM
opportunity. With both CRMs configured the first CRM of dbt var crm_precedence names them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from leadloop.demo import salesforce_records

CRM_PRECEDENCE = ("neocrm", "salesforce")  # dbt_project.yml var crm_precedence


def naming_crm(crms: Iterable[str]) -> str:
    """The CRM whose ids name journeys and deals when these CRMs are configured."""
    configured = set(crms)
    return next(crm for crm in CRM_PRECEDENCE if crm in configured)


def lead_key(crm: str, world_lead_id: int | None) -> str | None:
    """A world journey's lead as the warehouse names it in `crm`."""
    if world_lead_id is None:
        return None
    if crm == "neocrm":
        return f"neocrm_lead:{world_lead_id}"
    return f"salesforce_lead:{salesforce_records.lead_id(world_lead_id)}"


def opportunity_key(crm: str, world_opportunity_id: int | None) -> str | None:
    """A world opportunity as the warehouse names it in `crm`."""
    if world_opportunity_id is None:
        return None
    if crm == "neocrm":
        return f"neocrm_opportunity:{world_opportunity_id}"
    return f"salesforce_opportunity:{salesforce_records.opportunity_id(world_opportunity_id)}"


def journeys_by_key(journeys: Iterable[dict[str, Any]], crm: str) -> dict[str, dict[str, Any]]:
    """Journey truth rows keyed by the journey_id the warehouse gives them."""
    return {lead_key(crm, row["lead_id"]): row for row in journeys}


def opportunities_by_key(opportunities: Iterable[dict[str, Any]], crm: str) -> dict[str, dict[str, Any]]:
    """Opportunity truth rows keyed by the warehouse's opportunity_id, their lead named the same way."""
    return {opportunity_key(crm, row["opportunity_id"]): {**row, "source_lead_id": lead_key(crm, row["source_lead_id"])}
            for row in opportunities}
