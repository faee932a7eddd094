"""The docs site is generated again only when what it shows changed: the dbt project (the prepared manifest) or
the warehouse's catalog (columns, types, comments). A night that only changes rows keeps the page it has."""

from __future__ import annotations

import duckdb

from leadloop.orchestration import docs
from leadloop.warehouse import catalog_digest


def _fake_generate(calls: list):
    def generate(dbt, path):
        calls.append(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"page {len(calls)}")
        return path

    return generate


def test_rows_leave_the_catalog_digest_and_columns_or_comments_change_it(warehouse_copy):
    before = catalog_digest()
    with duckdb.connect(str(warehouse_copy)) as con:
        con.execute("insert into marts.dim_days select * from marts.dim_days limit 3")
    assert catalog_digest() == before
    with duckdb.connect(str(warehouse_copy)) as con:
        con.execute("comment on column marts.dim_days.date_day is 'another description'")
    commented = catalog_digest()
    assert commented != before
    with duckdb.connect(str(warehouse_copy)) as con:
        con.execute("alter table raw_neocrm.leads add column new_field varchar")
    assert catalog_digest() not in (before, commented)


def test_the_page_is_made_again_only_when_its_inputs_changed(warehouse_copy, tmp_path, monkeypatch):
    calls: list = []
    monkeypatch.setattr(docs, "generate_docs", _fake_generate(calls))
    page = tmp_path / "docs" / "index.html"

    assert docs.refresh_docs(None, page) is True
    assert docs.refresh_docs(None, page) is False  # same project, same catalog
    assert page.read_text() == "page 1" and len(calls) == 1

    with duckdb.connect(str(warehouse_copy)) as con:  # a night's new rows
        con.execute("insert into marts.dim_days select * from marts.dim_days limit 3")
    assert docs.refresh_docs(None, page) is False

    with duckdb.connect(str(warehouse_copy)) as con:  # a source's new field: the catalog shows it
        con.execute("alter table raw_neocrm.leads add column new_field varchar")
    assert docs.refresh_docs(None, page) is True and page.read_text() == "page 2"

    manifest = tmp_path / "manifest.json"  # the project changed: a new manifest
    manifest.write_text("{}")
    monkeypatch.setattr(docs, "leadloop_dbt_project", lambda: type("Project", (), {"manifest_path": manifest}))
    assert docs.refresh_docs(None, page) is True
    assert docs.refresh_docs(None, page) is False

    monkeypatch.setattr(docs, "installed_dbt_version", "0.0.0")  # another dbt writes another page
    assert docs.refresh_docs(None, page) is True

    page.unlink()  # a page removed by hand is made again
    assert docs.refresh_docs(None, page) is True and len(calls) == 5
