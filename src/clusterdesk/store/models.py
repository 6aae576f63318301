"""SQLModel table definitions for the draft store.

These classes describe the schema that ``migrations.py`` creates; the
migrations are written as frozen SQL so that editing a model never silently
changes what an old migration step does.  ``tests/test_store.py`` checks that
the two stay in step (same tables, same columns).

Timestamps are stored as ISO 8601 text in UTC with microseconds
(``2024-05-01T08:00:00.000000+00:00``) so that they sort correctly as text;
the public API converts them to timezone-aware local ``datetime`` objects.

JSON values (answers, meta) are stored as text produced by ``json.dumps``.
No Qt imports here or anywhere else in ``clusterdesk.store``.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, LargeBinary
from sqlmodel import Field, SQLModel

__all__ = [
    "StoreStateRow",
    "DraftRow",
    "AnswerRow",
    "MetaRow",
    "BlobRow",
    "EvidenceRow",
    "STORE_TABLES",
]


class StoreStateRow(SQLModel, table=True):
    """Single row (id = 1) holding the change counter behind ``Store.data_version``."""

    __tablename__ = "store_state"

    id: int = Field(default=1, primary_key=True)
    data_version: int = Field(default=0)


class DraftRow(SQLModel, table=True):
    __tablename__ = "draft"
    __table_args__ = (
        Index("ix_draft_uuid", "uuid"),
        Index("ix_draft_updated_at", "updated_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    uuid: str
    form_id: str
    form_version: int
    title: str
    created_at: str
    updated_at: str
    linked_draft_id: int | None = Field(default=None, foreign_key="draft.id", ondelete="SET NULL")


class AnswerRow(SQLModel, table=True):
    __tablename__ = "draft_answer"

    draft_id: int = Field(foreign_key="draft.id", primary_key=True, ondelete="CASCADE")
    key: str = Field(primary_key=True)
    value_json: str | None = None  # NULL: only a note is stored for this key
    note: str | None = None


class MetaRow(SQLModel, table=True):
    __tablename__ = "draft_meta"

    draft_id: int = Field(foreign_key="draft.id", primary_key=True, ondelete="CASCADE")
    key: str = Field(primary_key=True)
    value_json: str


class BlobRow(SQLModel, table=True):
    """Evidence file contents, content-addressed by SHA-256 (hex), shared between drafts."""

    __tablename__ = "blob"

    sha256: str = Field(primary_key=True)
    size: int
    data: bytes = Field(sa_column=Column("data", LargeBinary, nullable=False))


class EvidenceRow(SQLModel, table=True):
    """A link from one answer option of a draft to a stored file."""

    __tablename__ = "evidence"
    __table_args__ = (
        Index("ix_evidence_slot", "draft_id", "key", "option", "position"),
        Index("ix_evidence_sha256", "sha256"),
    )

    id: int | None = Field(default=None, primary_key=True)
    draft_id: int = Field(foreign_key="draft.id", ondelete="CASCADE")
    key: str
    option: str
    filename: str
    sha256: str = Field(foreign_key="blob.sha256")
    added_at: str
    position: int


# Every table the store owns; used to recognise our own database files.
STORE_TABLES: frozenset[str] = frozenset(
    {
        StoreStateRow.__tablename__,
        DraftRow.__tablename__,
        AnswerRow.__tablename__,
        MetaRow.__tablename__,
        BlobRow.__tablename__,
        EvidenceRow.__tablename__,
    }
)
