from datetime import date

from sqlalchemy import Date, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from plumbing.outbox import messaging_tables


class Base(DeclarativeBase):
    pass


class DailyTicketCount(Base):
    """Tickets created per agent per UTC day, from ticket.created events."""
    __tablename__ = "daily_ticket_counts"

    agent: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    tickets: Mapped[int] = mapped_column(Integer)


outbox, inbox = messaging_tables(Base.metadata)
