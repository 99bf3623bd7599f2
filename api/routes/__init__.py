"""HTTP routes, one module per resource of API.md; each lists its controllers."""

from litestar import Controller

from api.routes import (
    directory,
    invitations,
    magic_links,
    mobile,
    notifications,
    organizations,
    sso,
    teams,
    two_factor,
    two_factor_sms,
    users,
)
from api.routes.accounts import AccountController
from api.routes.admin_messages import AdminMessageController
from api.routes.auth import AuthController
from api.routes.ops import OpsController
from api.routes.passwords import PasswordController
from api.routes.security_events import SecurityEventController
from api.routes.sessions import SessionController

ROUTES: list[type[Controller]] = [
    AccountController, AuthController, PasswordController, SessionController,
    SecurityEventController, OpsController,
    *magic_links.CONTROLLERS, *two_factor.CONTROLLERS, *two_factor_sms.CONTROLLERS,
    *users.CONTROLLERS, *notifications.CONTROLLERS, *mobile.CONTROLLERS,
    AdminMessageController, *organizations.CONTROLLERS, *invitations.CONTROLLERS,
    *teams.CONTROLLERS, *sso.CONTROLLERS, *directory.CONTROLLERS,
]
