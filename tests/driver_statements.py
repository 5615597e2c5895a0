"""Counting the SQL statements the database driver is given (``Statements``): what the scan and
claim tests count, at the driver, so that a statement run straight on the driver
(``kiosk.database.read_alone``, ``driver_write``) counts like one run through SQLAlchemy."""

from __future__ import annotations

from sqlalchemy import event


class Statements:
    """Every SQL statement the database driver is given while counting, on every connection the
    engine's pool hands out: counted at the driver (SQLite's trace callback, a psycopg cursor
    that notes each ``execute``), so a statement run straight on the driver
    (``database.read_alone``) counts like one run through SQLAlchemy, and SQLite's own BEGIN
    counts too."""

    def __init__(self, engine):
        self.seen: list[str] = []
        self.engine = engine
        self.dialect = engine.dialect.name
        event.listen(engine, "checkout", self._checkout)
        event.listen(engine, "checkin", self._checkin)

    def _note(self, statement: str) -> None:
        self.seen.append(" ".join(statement.split())[:100])

    def _checkout(self, dbapi_conn, _record, _proxy):
        if self.dialect == "sqlite":
            dbapi_conn.set_trace_callback(self._note)
        else:
            note = self._note
            base = type(dbapi_conn).cursor_factory if hasattr(type(dbapi_conn), "cursor_factory") else None
            base = dbapi_conn.cursor_factory or base

            class Counting(base):
                def execute(self, query, *args, **kwargs):
                    note(query if isinstance(query, str) else str(query))
                    return super().execute(query, *args, **kwargs)

            dbapi_conn.cursor_factory = Counting

    def _checkin(self, dbapi_conn, _record):
        if self.dialect == "sqlite":
            dbapi_conn.set_trace_callback(None)
        elif getattr(dbapi_conn, "cursor_factory", None) is not None and dbapi_conn.cursor_factory.__name__ == "Counting":
            dbapi_conn.cursor_factory = dbapi_conn.cursor_factory.__mro__[1]

    def close(self):
        event.remove(self.engine, "checkout", self._checkout)
        event.remove(self.engine, "checkin", self._checkin)

    def __enter__(self) -> "Statements":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
