"""What every leadloop source shares: settings, retrying HTTP, token cache, arrow pages, quarantine."""

from leadloop.extract.common.arrow import ArrowPage, Rejected, arrow_schema, column_hints, records_to_arrow
from leadloop.extract.common.config import (
    MissingSettingError,
    SourceSettings,
    describe_settings,
    require_settings,
    setting_env_var,
)
from leadloop.extract.common.http import (
    RetriesExhaustedError,
    RetryingSession,
    RetryPolicy,
    SourceClient,
    TransientError,
    call_with_retries,
    json_body,
)
from leadloop.extract.common.quarantine import (
    QUARANTINE_COLUMNS,
    QUARANTINE_TABLE,
    add_incremental_passthrough,
    add_quarantine_passthrough_step,
    data_item,
    page_items,
    quarantine_id,
    quarantine_item,
    quarantine_resource,
    quarantine_table,
    strip_incremental_passthrough,
)
from leadloop.extract.common.token import Token, TokenCache

__all__ = [
    "QUARANTINE_COLUMNS",
    "QUARANTINE_TABLE",
    "ArrowPage",
    "MissingSettingError",
    "Rejected",
    "RetriesExhaustedError",
    "RetryPolicy",
    "RetryingSession",
    "SourceClient",
    "SourceSettings",
    "Token",
    "TokenCache",
    "TransientError",
    "add_incremental_passthrough",
    "add_quarantine_passthrough_step",
    "arrow_schema",
    "call_with_retries",
    "column_hints",
    "data_item",
    "describe_settings",
    "json_body",
    "page_items",
    "quarantine_id",
    "quarantine_item",
    "quarantine_resource",
    "quarantine_table",
    "records_to_arrow",
    "require_settings",
    "setting_env_var",
    "strip_incremental_passthrough",
]
