"""Profile pictures on identities (LINE profile API's pictureUrl and a small stored copy).

Revision ID: 0006_identity_pictures
Revises: 0005_followup_plans
Create Date: 2026-12-07 22:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0006_identity_pictures'
down_revision = '0005_followup_plans'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('identities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('picture_url', sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column('picture', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('picture_type', sa.String(length=50), nullable=True))


def downgrade():
    with op.batch_alter_table('identities', schema=None) as batch_op:
        batch_op.drop_column('picture_type')
        batch_op.drop_column('picture')
        batch_op.drop_column('picture_url')
