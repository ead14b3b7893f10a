"""Vocabularies shared by more than one area (residents' requests are both internal and municipal)."""

from __future__ import annotations

from enum import StrEnum


class RequestKind(StrEnum):
    """诉求 类别: inquiry 咨询, help 求助, complaint 投诉, report 举报, suggestion 建议."""

    INQUIRY = "inquiry"
    HELP = "help"
    COMPLAINT = "complaint"
    REPORT = "report"
    SUGGESTION = "suggestion"


class Urgency(StrEnum):
    """轻重缓急. Usual time limits: emergency 2 h, utilities 24 h, ordinary 7 days, complex 15 days."""

    EMERGENCY = "emergency"
    UTILITIES = "utilities"
    ORDINARY = "ordinary"
    COMPLEX = "complex"


class RequestChannel(StrEnum):
    """Where a request came in."""

    API = "api"
    HOTLINE12345 = "hotline12345"
    DOOR_KNOCKING = "door_knocking"
    SERVICE_HALL = "service_hall"
    ONLINE = "online"
