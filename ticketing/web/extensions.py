"""The Flask extensions, unbound: the factory binds them with `init_app`."""

from flask_babel import Babel
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

login_manager = LoginManager()
babel = Babel()
csrf = CSRFProtect()
