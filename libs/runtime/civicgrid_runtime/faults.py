"""Transient faults (a store or the broker cannot be reached) told apart from everything else.

Plain Python with no driver imports: errors are recognised by the names of their classes (and of
their modules), so domain code, service layers and the runtime can all ask the same question, and a
service without the Neo4j or MongoDB driver installed loses nothing.

Transient means "the same call may well succeed later without any change to the data": a store or
broker that is down, restarting, unreachable, timing out, or asking the client to retry (Neo4j's
``TransientError``, e.g. a deadlock). Consumers hold their partition and retry these for ever; the
HTTP layer answers them with 503 and ``Retry-After``. Everything else is either permanent (a bad
record, a broken rule) or an unexpected bug.
"""

from __future__ import annotations

import errno

from civicgrid_runtime.errors import StoreUnavailable

# (module prefix, class name) of driver errors that mean "unavailable, try again later". Matched
# against each class in the error's MRO, so subclasses count (NotPrimaryError is an AutoReconnect).
_TRANSIENT_CLASSES: frozenset[tuple[str, str]] = frozenset(
    {
        # PyMongo (and FerretDB through it): no server selectable, connection lost, timeouts.
        ("pymongo", "ConnectionFailure"),  # AutoReconnect, NetworkTimeout, ServerSelectionTimeoutError,
        ("pymongo", "AutoReconnect"),  #     NotPrimaryError, WaitQueueTimeoutError
        ("pymongo", "NetworkTimeout"),
        ("pymongo", "ServerSelectionTimeoutError"),
        ("pymongo", "ExecutionTimeout"),  # maxTimeMS exceeded
        ("pymongo", "WTimeoutError"),  # write concern not satisfied in time
        # Neo4j: no server, connection dropped, server-side transient errors (deadlock, leader
        # switch, database starting), pool exhausted while connecting.
        ("neo4j", "ServiceUnavailable"),  # also the managed transactions' "retries exhausted"
        ("neo4j", "SessionExpired"),
        ("neo4j", "TransientError"),
        ("neo4j", "ConnectionAcquisitionTimeoutError"),
        # aiokafka: broker unreachable or not ready.
        ("aiokafka", "KafkaConnectionError"),
        ("aiokafka", "KafkaTimeoutError"),
        ("aiokafka", "NodeNotReadyError"),
        ("aiokafka", "RequestTimedOutError"),
    }
)

_CONNECTION_ERRNOS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.ENETDOWN,
        errno.ETIMEDOUT,
        errno.EPIPE,
    }
)


def _transient_itself(error: BaseException) -> bool:
    if isinstance(error, StoreUnavailable | TimeoutError | ConnectionError):
        return True  # TimeoutError is asyncio.TimeoutError since Python 3.11
    if isinstance(error, OSError) and error.errno in _CONNECTION_ERRNOS:
        return True
    for cls in type(error).__mro__:
        module = cls.__module__.split(".", 1)[0]
        if (module, cls.__name__) in _TRANSIENT_CLASSES:
            return True
        if module == "aiokafka" and cls.__name__ == "KafkaError":
            # aiokafka marks the broker states a client should wait out (leader moving, not enough
            # replicas, coordinator loading...) as retriable.
            return bool(getattr(error, "retriable", False))
        if module == "neo4j" and cls.__name__ in {"Neo4jError", "DriverError"}:
            retryable = getattr(error, "is_retryable", None)
            return bool(retryable()) if callable(retryable) else False
    return False


def is_transient(error: BaseException) -> bool:
    """True when ``error``, or an error it was raised from (``__cause__``/``__context__``), means a
    store or the broker is unavailable for now. An exception group is transient when all its
    members are."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, BaseExceptionGroup):
            if current.exceptions and all(is_transient(e) for e in current.exceptions):
                return True
        elif _transient_itself(current):
            return True
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return False


def describe(error: BaseException) -> str:
    """``ClassName: message`` of the first transient error in the chain (or of ``error``)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if not isinstance(current, BaseExceptionGroup) and _transient_itself(current):
            break
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    chosen = current or error
    text = str(chosen)
    return f"{type(chosen).__name__}: {text}" if text else type(chosen).__name__
