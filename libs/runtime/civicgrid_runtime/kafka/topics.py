"""Creating the catalogue's topics (and their dead-letter topics) with their partition counts.

Replication follows the cluster: a topic gets ``min(3, brokers)`` replicas and, from three replicas on,
``min.insync.replicas=2``, so with the producers' ``acks=all`` an acknowledged record is on two brokers
and one broker may be lost without losing it or refusing writes (:func:`replication_for`)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream.kafka import KafkaBroker

from civicgrid_contracts.catalogue import all_topics, dead_letter_topic, is_redrive_topic
from civicgrid_runtime.logging import get_logger
from civicgrid_runtime.topic_names import TopicNames

log = get_logger(__name__)

MAX_REPLICATION = 3


def replication_for(brokers: int) -> tuple[int, dict[str, str]]:
    """(replication factor, topic configs) for a cluster of ``brokers``."""
    factor = max(1, min(MAX_REPLICATION, brokers))
    configs = {"min.insync.replicas": "2"} if factor >= MAX_REPLICATION else {}
    return factor, configs


async def _replication(admin: AIOKafkaAdminClient, wanted: int | None) -> tuple[int, dict[str, str]]:
    if wanted is not None:
        return wanted, {"min.insync.replicas": "2"} if wanted >= MAX_REPLICATION else {}
    cluster = await admin.describe_cluster()
    return replication_for(len(cluster.get("brokers", ())) or 1)


async def ensure_topics(
    bootstrap_servers: str,
    names: Iterable[str],
    replication_factor: int | None = None,
    *,
    topics: TopicNames | None = None,
) -> list[str]:
    """Create the named catalogue topics that do not exist yet; returns the ones created.

    With ``topics`` (a service's :class:`TopicNames`) each is created under the service's name for it,
    with the catalogue's partition count. ``replication_factor`` None: from the cluster's size
    (:func:`replication_for`)."""
    mapping = topics or TopicNames()
    requested = set(names)
    catalogue = {t.name: t for t in all_topics()}
    unknown = requested - set(catalogue)
    if unknown:
        raise ValueError(f"not in the topic catalogue: {', '.join(sorted(unknown))}")
    wanted = {mapping.name(n): catalogue[n].partitions for n in requested}
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = sorted(set(wanted) - existing)
        if missing:
            factor, configs = await _replication(admin, replication_factor)
            # Another instance may have created one meanwhile.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [
                        NewTopic(
                            n, num_partitions=wanted[n], replication_factor=factor, topic_configs=configs
                        )
                        for n in missing
                    ],
                    validate_only=False,
                )
            log.info("created topics", topics=missing)
        return missing
    finally:
        await admin.close()


def with_dead_letters(names: Iterable[str]) -> list[str]:
    """The topics plus each one's ``.dlq`` topic."""
    result: list[str] = []
    for name in names:
        result += [name, dead_letter_topic(name)]
    return result


def redrive_topics_of(broker: KafkaBroker) -> list[str]:
    """The per-group redrive topics the broker's subscribers listen on."""
    names = {name for sub in broker.subscribers for name in getattr(sub, "topic_names", ())}
    return sorted(name for name in names if is_redrive_topic(name))


async def ensure_redrive_topics(bootstrap_servers: str, names: Iterable[str]) -> list[str]:
    """Create the named redrive topics (one partition each) that do not exist yet."""
    wanted = set(names)
    if not wanted:
        return []
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        missing = sorted(wanted - set(await admin.list_topics()))
        if missing:
            factor, configs = await _replication(admin, None)
            # Another instance may have created one meanwhile.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [
                        NewTopic(n, num_partitions=1, replication_factor=factor, topic_configs=configs)
                        for n in missing
                    ]
                )
            log.info("created redrive topics", topics=missing)
        return missing
    finally:
        await admin.close()
