"""History store, first schema: images, tags, SBOMs, scans, findings, verdicts.

Revision ID: 0001
Revises:
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create every table."""
    op.create_table(
        "images",
        sa.Column("digest", sa.String(100), primary_key=True),
        sa.Column("repository", sa.String(500), nullable=False),
        sa.Column("first_seen", sa.DateTime(), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=False),
        sa.Column("config", sa.Text(), nullable=True),
    )
    op.create_table(
        "tags",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("repository", sa.String(500), nullable=False),
        sa.Column("tag", sa.String(200), nullable=False),
        sa.Column("digest", sa.String(100), nullable=False),
        sa.Column("first_seen", sa.DateTime(), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_tags_repository_tag", "tags", ["repository", "tag"])
    op.create_table(
        "sboms",
        sa.Column("digest", sa.String(100), primary_key=True),
        sa.Column("format", sa.String(50), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("stored_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "scans",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("scanned_at", sa.DateTime(), nullable=False),
        sa.Column("digest", sa.String(100), nullable=False),
        sa.Column("repository", sa.String(500), nullable=False),
        sa.Column("reference", sa.String(1000), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("duration", sa.Float(), nullable=False),
        sa.Column("critical", sa.Integer(), nullable=False),
        sa.Column("high", sa.Integer(), nullable=False),
        sa.Column("medium", sa.Integer(), nullable=False),
        sa.Column("low", sa.Integer(), nullable=False),
        sa.Column("unknown", sa.Integer(), nullable=False),
        sa.Column("vulns", sa.Boolean(), nullable=False),
        sa.Column("signed", sa.Boolean(), nullable=True),
        sa.Column("attested", sa.Boolean(), nullable=True),
        sa.Column("decision", sa.String(20), nullable=True),
        sa.Column("reasons", sa.Text(), nullable=True),
    )
    op.create_index("ix_scans_scanned_at", "scans", ["scanned_at"])
    op.create_index("ix_scans_digest", "scans", ["digest"])
    op.create_table(
        "findings",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("repository", sa.String(500), nullable=False),
        sa.Column("vuln_id", sa.String(200), nullable=False),
        sa.Column("package_name", sa.String(500), nullable=False),
        sa.Column("package_version", sa.String(200), nullable=False),
        sa.Column("severity", sa.String(20), nullable=False),
        sa.Column("digest", sa.String(100), nullable=False),
        sa.Column("first_seen", sa.DateTime(), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_findings_key", "findings", ["repository", "vuln_id", "package_name"])
    op.create_table(
        "verdicts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.Column("digest", sa.String(100), nullable=False),
        sa.Column("repository", sa.String(500), nullable=False),
        sa.Column("reference", sa.String(1000), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("decision", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("policy_hash", sa.String(100), nullable=False),
    )
    op.create_index("ix_verdicts_decided_at", "verdicts", ["decided_at"])


def downgrade() -> None:
    """Drop every table."""
    for name in ("verdicts", "findings", "scans", "sboms", "tags", "images"):
        op.drop_table(name)
