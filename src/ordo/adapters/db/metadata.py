"""All tables, imported once so that Alembic and the tests see the whole schema."""

from ordo.adapters.db import reference as _reference  # noqa: F401
from ordo.adapters.db.base import Base
from ordo.audit import tables as _audit  # noqa: F401
from ordo.auth import tables as _auth  # noqa: F401
from ordo.catalog import tables as _catalog  # noqa: F401
from ordo.channel import tables as _channel  # noqa: F401
from ordo.customer import tables as _customer  # noqa: F401
from ordo.fulfillment import tables as _fulfillment  # noqa: F401
from ordo.inventory import tables as _inventory  # noqa: F401
from ordo.notify import tables as _notify  # noqa: F401
from ordo.order import tables as _order  # noqa: F401
from ordo.review import tables as _review  # noqa: F401
from ordo.shipping import tables as _shipping  # noqa: F401
from ordo.shipping.crossborder import tables as _crossborder  # noqa: F401
from ordo.sla import tables as _sla  # noqa: F401

metadata = Base.metadata
