"""Item text is cleaned where the built-in datasets are read: HTML character references
decoded, whitespace collapsed."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from paretorec.data.datasets import DatasetFormatError, load_homedepot, load_icecat
from paretorec.data.datasets._common import clean_text

Folder = Callable[[dict[str, str]], Path]


def test_clean_text_decodes_references_and_collapses_whitespace() -> None:
    raw = pl.Series(
        [
            "Contractor&#39;s Choice",
            "Nuts &amp; Bolts  &quot;Pro&quot;",
            "  tab\there\nnew line ",
            "50&deg;C&nbsp;&nbsp;max",
            "&#x41;&#66;C",
            "AT&T and 5 & 6",  # a bare ampersand is no reference: kept
            "&nbsp; ",
            None,
        ]
    )
    assert clean_text(raw).to_list() == [
        "Contractor's Choice",
        'Nuts & Bolts "Pro"',
        "tab here new line",
        "50°C max",
        "ABC",
        "AT&T and 5 & 6",
        None,  # nothing left: null, so a required title is reported empty
        None,
    ]


def test_homedepot_titles_read_as_on_the_shop_page(write_folder: Folder) -> None:
    folder = write_folder(
        {
            "products.csv": "product_uid,product_title\n"
            "1,Contractor&#39;s Choice  Garden Hose\n"
            '2,"Nuts &amp; Bolts\t(20-Pack)"\n',
            "judgments_dev.csv": "id,product_uid,search_term,relevance\n1,1,hose,3\n",
        }
    )
    items = load_homedepot(folder).items.frame
    assert items["title"].to_list() == [
        "Contractor's Choice Garden Hose",
        "Nuts & Bolts (20-Pack)",
    ]


def test_homedepot_title_that_is_only_a_space_reference_is_empty(write_folder: Folder) -> None:
    folder = write_folder(
        {
            "products.csv": "product_uid,product_title\n1,Hose\n2,&nbsp;\n",
            "judgments_dev.csv": "id,product_uid,search_term,relevance\n1,1,hose,3\n",
        }
    )
    with pytest.raises(DatasetFormatError, match=r"row 2.*product_title is empty"):
        load_homedepot(folder)


def test_icecat_titles_and_descriptions_are_cleaned(tmp_path: Path) -> None:
    products = [
        {
            "id": "1",
            "title": " Oven  up to 250&deg;C ",
            "short_description": "Fits&nbsp;60 cm\nniches<br />A&amp;B",
        },
        {"id": "2", "title": "Kettle", "short_description": "   "},
    ]
    with zipfile.ZipFile(tmp_path / "1.json.zip", "w") as archive:
        archive.writestr("1.json", json.dumps(products))
    items = load_icecat(tmp_path).items.frame
    assert items["title"].to_list() == ["Oven up to 250°C", "Kettle"]
    assert items["description"].to_list() == ["Fits 60 cm niches<br />A&B", None]
