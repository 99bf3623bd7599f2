"""Piccolo tables. All timestamps are UTC; every secret column holds a hash, never the secret."""

from piccolo.columns import (
    JSON,
    UUID,
    Array,
    Boolean,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from db.engine import DB


class User(Table, tablename="users", db=DB):
    id = UUID(primary_key=True)
    email = Varchar(length=254)
    email_lower = Varchar(length=254, unique=True)  # case-insensitive uniqueness
    password_hash = Varchar(length=100)
    name = Varchar(length=100, null=True, default=None)
    email_verified_at = Timestamptz(null=True, default=None)
    roles = Array(base_column=Varchar(length=32), default=["user"])
    is_active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Session(Table, tablename="sessions", db=DB):
    """One sign-in or paired device: the refresh-token family."""

    id = UUID(primary_key=True)
    user_id = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    kind = Varchar(length=16, default="web")  # web | mobile
    device_name = Varchar(length=100, null=True, default=None)
    platform = Varchar(length=32, null=True, default=None)
    user_agent = Varchar(length=512, null=True, default=None)
    ip_address = Varchar(length=45, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    last_used_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz(index=True)
    revoked_at = Timestamptz(null=True, default=None)
    revoked_reason = Varchar(length=32, null=True, default=None)


class RefreshToken(Table, tablename="refresh_tokens", db=DB):
    id = UUID(primary_key=True)
    session_id = ForeignKey(references=Session, on_delete=OnDelete.cascade, index=True)
    token_hash = Varchar(length=64, unique=True)
    parent_id = UUID(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    rotated_at = Timestamptz(null=True, default=None)


class OneTimeToken(Table, tablename="one_time_tokens", db=DB):
    id = UUID(primary_key=True)
    user_id = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    purpose = Varchar(length=32)  # verify_email | reset_password | magic_link | pair_device
    token_hash = Varchar(length=64, unique=True)
    expires_at = Timestamptz(index=True)
    used_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    ip_address = Varchar(length=45, null=True, default=None)
    user_agent = Varchar(length=512, null=True, default=None)


class OutboxMessage(Table, tablename="outbox_messages", db=DB):
    """A message to a person, committed with the state change that caused it."""

    id = UUID(primary_key=True)
    user_id = ForeignKey(references=User, on_delete=OnDelete.cascade, null=True, index=True)
    kind = Varchar(length=48)
    channel = Varchar(length=16, default="email")
    recipient = Varchar(length=254)
    data = JSON(default={})  # template data; never a secret
    status = Varchar(length=16, default="pending", index=True)  # pending|sending|sent|failed
    attempts = Integer(default=0)
    last_error = Text(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow(), index=True)
    sent_at = Timestamptz(null=True, default=None)


class AuditEvent(Table, tablename="audit_events", db=DB):
    id = UUID(primary_key=True)
    user_id = ForeignKey(references=User, on_delete=OnDelete.cascade, null=True, index=True)
    action = Varchar(length=64)
    ip_address = Varchar(length=45, null=True, default=None)
    user_agent = Varchar(length=512, null=True, default=None)
    metadata = JSON(default={})
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
