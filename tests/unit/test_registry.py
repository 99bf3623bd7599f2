"""The registry of message kinds and one-time secret purposes is complete and consistent."""

from __future__ import annotations

import dataclasses

from domain.messages.kinds import KINDS, MessageKind, declare
from domain.one_time_secrets.purposes import PURPOSES, SecretForm
from domain.settings import Settings
from worker.templates import HERE, SUFFIXES, template_names


def test_every_kind_has_a_template_for_each_of_its_channels():
    missing = [name for kind in KINDS.values() for name in template_names(kind)
               if not (HERE / name).is_file()]
    assert missing == []


def test_every_template_belongs_to_a_declared_kind():
    expected = {name for kind in KINDS.values() for name in template_names(kind)}
    suffixes = sorted({s for group in SUFFIXES.values() for s in group}, key=len, reverse=True)
    files = {p.name for p in HERE.iterdir() if p.name.endswith(tuple(suffixes))}
    assert files - expected == set(), "templates with no kind (or on a channel it lacks)"


def test_every_purpose_has_a_lifetime_setting_and_links_a_page():
    fields = {f.name for f in dataclasses.fields(Settings)}
    mailed = {kind.secret.name for kind in KINDS.values() if kind.secret is not None}
    for purpose in PURPOSES.values():
        assert purpose.ttl_setting in fields, purpose.name
        assert purpose.ttl(Settings()) > 0
        if purpose.form is SecretForm.LINK and purpose.name in mailed:
            assert purpose.link_path and purpose.link_path.startswith("/"), purpose.name
        else:
            assert 4 <= purpose.digits <= 10 and purpose.max_attempts >= 1, purpose.name


def test_kinds_that_carry_a_secret_name_a_declared_purpose():
    for kind in KINDS.values():
        if kind.secret is not None:
            assert PURPOSES[kind.secret.name] is kind.secret


def test_security_alerts_cannot_be_turned_off_and_names_are_unique():
    assert all(not k.optional for k in KINDS.values() if k.security_alert)
    try:
        declare(MessageKind("welcome", "again"))
    except ValueError as exc:
        assert "twice" in str(exc)
    else:
        raise AssertionError("a kind declared twice was accepted")
