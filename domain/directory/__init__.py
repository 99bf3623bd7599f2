"""The enterprise directory (issue 14): organizations' identity providers.

* ``connections``: an organization's OpenID Connect provider (``/v1/organizations/{id}/sso``)
  and the deployment-wide one from ``OIDC_*`` settings;
* ``oidc``: the OpenID Connect client (authlib): discovery, JWKS, code exchange, ID token checks;
* ``sso``: ``/v1/auth/sso/start``, ``callback`` and ``exchange``; identity links (issuer, sub);
* ``scim_*``: SCIM 2.0 provisioning of users and groups (teams), RFC 7643 / 7644;
* ``managed``: profiles the directory owns (name, email, phone read-only here).
"""
