"""The demo company's custom lead field: 预算范围 (budget range), as sales fills it in on a lead.

Both CRMs carry it — 销售易 as `customItem206__c`, Salesforce as the picklist `Budget_Range__c` — and
the demo's CUSTOM_FIELDS settings map both to the meaning `budgetRange` (column `budget_range`), which
the warehouse scores on (dbt var crm_custom_fields, rule set v3 of seed scoring_fit_rules).

A value follows the company's size (bigger companies budget more), moved one band up or down now and
then, and about a quarter of leads leave it empty. It is drawn from a generator seeded by the lead
alone, never from the world's generator, so adding the field shifts no other number of the demo.
"""

from __future__ import annotations

import random

from leadloop.demo.model import Journey

NEOCRM_FIELD = "customItem206__c"
SALESFORCE_FIELD = "Budget_Range__c"
MEANING = "budgetRange"
# Bands as the picklist offers them, smallest first.
BUDGET_RANGES = ("10万以下", "10-30万", "30-100万", "100万以上")
# Fewest employees of a company whose usual band is BUDGET_RANGES[i + 1].
_BAND_FLOORS = (200, 1000, 5000)
EMPTY_SHARE = 0.25
MOVED_SHARE = 0.2


def budget_range(journey: Journey) -> str | None:
    """The budget band on the journey's lead (None when sales left it empty)."""
    rng = random.Random(f"budget_range:{journey.lead_id}")
    if rng.random() < EMPTY_SHARE:
        return None
    band = sum(journey.account.employees >= floor for floor in _BAND_FLOORS)
    if rng.random() < MOVED_SHARE:
        band += rng.choice((-1, 1))
    return BUDGET_RANGES[min(max(band, 0), len(BUDGET_RANGES) - 1)]
