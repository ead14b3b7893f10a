"""Neo4j constraints and indexes of the org graph (created at start-up, idempotently)."""

from __future__ import annotations

from civicgrid_runtime.stores.neo4j import SCHEMA as RUNTIME_SCHEMA

ORG_GRAPH_SCHEMA = (
    *RUNTIME_SCHEMA,
    "CREATE CONSTRAINT og_place_code IF NOT EXISTS FOR (p:Place) REQUIRE p.code IS UNIQUE",
    "CREATE CONSTRAINT og_grid_id IF NOT EXISTS FOR (g:Grid) REQUIRE g.id IS UNIQUE",
    "CREATE CONSTRAINT og_org_id IF NOT EXISTS FOR (o:Organisation) REQUIRE o.id IS UNIQUE",
    "CREATE CONSTRAINT og_person_id IF NOT EXISTS FOR (p:Person) REQUIRE p.id IS UNIQUE",
    "CREATE CONSTRAINT og_person_hash IF NOT EXISTS FOR (p:Person) REQUIRE p.id_hash IS UNIQUE",
    "CREATE CONSTRAINT og_post_id IF NOT EXISTS FOR (p:Post) REQUIRE p.id IS UNIQUE",
    "CREATE CONSTRAINT og_membership_id IF NOT EXISTS FOR (m:Membership) REQUIRE m.id IS UNIQUE",
    "CREATE CONSTRAINT og_idempotency IF NOT EXISTS FOR (r:IdempotencyRecord) REQUIRE r.key IS UNIQUE",
    "CREATE CONSTRAINT og_write_lock IF NOT EXISTS FOR (l:WriteLock) REQUIRE l.key IS UNIQUE",
    "CREATE INDEX og_idempotency_at IF NOT EXISTS FOR (r:IdempotencyRecord) ON (r.at)",
    "CREATE CONSTRAINT og_household_code IF NOT EXISTS FOR (h:Household) REQUIRE h.code IS UNIQUE",
    "CREATE CONSTRAINT og_entrance_code IF NOT EXISTS FOR (e:Entrance) REQUIRE e.code IS UNIQUE",
    "CREATE INDEX og_household_building IF NOT EXISTS FOR (h:Household) ON (h.building_code)",
    "CREATE INDEX og_household_compound IF NOT EXISTS FOR (h:Household) ON (h.compound_code)",
    "CREATE INDEX og_household_community IF NOT EXISTS FOR (h:Household) ON (h.community_code)",
    "CREATE INDEX og_compound_code IF NOT EXISTS FOR (p:Compound) ON (p.code)",
    "CREATE INDEX og_building_code IF NOT EXISTS FOR (p:Building) ON (p.code)",
    "CREATE INDEX og_community_code IF NOT EXISTS FOR (p:Community) ON (p.code)",
    "CREATE INDEX og_village_code IF NOT EXISTS FOR (p:Village) ON (p.code)",
    "CREATE INDEX og_org_community IF NOT EXISTS FOR (o:Organisation) ON (o.community_code)",
    "CREATE INDEX og_membership_community IF NOT EXISTS FOR (m:Membership) ON (m.community_code)",
    "CREATE INDEX og_person_community IF NOT EXISTS FOR (p:Person) ON (p.community_code)",
    "CREATE INDEX og_membership_post IF NOT EXISTS FOR (m:Membership) ON (m.post, m.community_code)",
    "CREATE INDEX og_org_kind IF NOT EXISTS FOR (o:Organisation) ON (o.kind, o.community_code)",
    "CREATE INDEX og_flag_community IF NOT EXISTS FOR (f:CrossAppointmentFlag) ON (f.community_code)",
)

KIND_LABELS = {
    "province": "Province",
    "city": "City",
    "district": "District",
    "street": "Street",
    "community": "Community",
    "village": "Village",
    "compound": "Compound",
    "building": "Building",
}
