"""Creating the catalogue's topics (and their dead-letter topics) with their partition counts."""

from __future__ import annotations

from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from civicgrid_contracts.catalogue import all_topics, dead_letter_topic
from civicgrid_runtime.logging import get_logger

log = get_logger(__name__)


async def ensure_topics(
    bootstrap_servers: str, names: Iterable[str], replication_factor: int = 1
) -> list[str]:
    """Create the named catalogue topics that do not exist yet; returns the ones created."""
    wanted = set(names)
    catalogue = {t.name: t for t in all_topics()}
    unknown = wanted - set(catalogue)
    if unknown:
        raise ValueError(f"not in the topic catalogue: {', '.join(sorted(unknown))}")
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [catalogue[n] for n in sorted(wanted - existing)]
        if missing:
            await admin.create_topics(
                [
                    NewTopic(t.name, num_partitions=t.partitions, replication_factor=replication_factor)
                    for t in missing
                ],
                validate_only=False,
            )
            log.info("created topics", topics=[t.name for t in missing])
        return [t.name for t in missing]
    finally:
        await admin.close()


def with_dead_letters(names: Iterable[str]) -> list[str]:
    """The topics plus each one's ``.dlq`` topic."""
    result: list[str] = []
    for name in names:
        result += [name, dead_letter_topic(name)]
    return result
