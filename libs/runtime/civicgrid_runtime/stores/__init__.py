"""Store helpers shared by services: clients, inbox and outbox storage for Neo4j and MongoDB."""
