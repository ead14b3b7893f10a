"""Shared runtime for CivicGrid services: settings, logging, Kafka guarantees, outbox, health, auth."""
