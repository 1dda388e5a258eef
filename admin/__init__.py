"""The Flask-Admin UI: every screen people use, in Spanish first."""

from flask import Blueprint
from flask_admin import Admin, AdminIndexView, expose
from flask_admin.theme import Bootstrap4Theme
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from admin.base import RoleMixin

# the menu's dropdowns: institutions, their people and their rollout; the desk's settings
INSTITUTIONS = _l("Instituciones")
SETTINGS = _l("Configuración")


class HomeView(RoleMixin, AdminIndexView):
    """The start page: what the signed-in person should look at first."""

    @expose("/")
    def index(self):
        from ticketing.services import openable_types

        return self.render("mesa/home.html", types=openable_types(current_user))


def init_admin(app) -> Admin:
    """Mount every admin view on `app`, under the site root."""
    from admin.people import InstitutionView, UserView
    from admin.tickets import MyTicketsView, NewTicketView, TicketListView, TicketPageView
    from ticketing.models import Institution, Ticket, User

    app.register_blueprint(
        Blueprint(
            "mesa_ui",
            __name__,
            template_folder="templates",
            static_folder="static",
            static_url_path="/ui-static",
        )
    )
    admin = Admin(
        app,
        name="Mesa · Quipux",
        url="/",
        index_view=HomeView(name=_l("Inicio"), url="/", endpoint="admin"),
        theme=Bootstrap4Theme(base_template="mesa/master.html", fluid=True),
    )
    admin.add_view(NewTicketView(name=_l("Nuevo ticket"), endpoint="new_ticket", url="/nuevo"))
    admin.add_view(
        MyTicketsView(Ticket, name=_l("Mis tickets"), endpoint="my_tickets", url="/mis-tickets")
    )
    admin.add_view(TicketListView(Ticket, name=_l("Cola"), endpoint="tickets", url="/cola"))
    admin.add_view(TicketPageView(name=_l("Ticket"), endpoint="ticket", url="/ticket"))
    # the menu groups its entries (INSTITUTIONS, SETTINGS) so the AGQ's fits one line at 1280 px
    admin.add_view(
        InstitutionView(
            Institution,
            name=_l("Instituciones"),
            endpoint="institutions",
            url="/instituciones",
            category=INSTITUTIONS,
        )
    )
    admin.add_view(
        UserView(
            User, name=_l("Personas"), endpoint="users", url="/personas", category=INSTITUTIONS
        )
    )
    try:
        from admin.extra import register_extra_views
    except ImportError:
        register_extra_views = None
    if register_extra_views is not None:
        register_extra_views(admin)
    return admin
