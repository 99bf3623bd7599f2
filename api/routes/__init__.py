"""HTTP routes, one module per resource of API.md."""

from api.routes.accounts import AccountController
from api.routes.auth import AuthController
from api.routes.ops import OpsController
from api.routes.passwords import PasswordController
from api.routes.security_events import SecurityEventController
from api.routes.sessions import SessionController

ROUTES = [AccountController, AuthController, PasswordController, SessionController,
          SecurityEventController, OpsController]
