import pytest

from civicgrid_orggraph.settings import OrgGraphSettings
from civicgrid_resources.settings import ResourcesSettings
from civicgrid_runtime.settings import InvalidSettings, load_settings


def test_a_bad_setting_stops_the_service_with_a_message_naming_the_variable(monkeypatch):
    monkeypatch.setenv("ORGGRAPH_NEO4J_URI", "http://not-bolt")
    with pytest.raises(InvalidSettings) as stopped:
        load_settings(OrgGraphSettings)
    assert "ORGGRAPH_NEO4J_URI" in stopped.value.message


def test_a_malformed_number_is_reported_with_its_prefixed_name(monkeypatch):
    monkeypatch.setenv("RESOURCES_CONSUMER_MAX_ATTEMPTS", "many")
    with pytest.raises(InvalidSettings) as stopped:
        load_settings(ResourcesSettings)
    assert "RESOURCES_CONSUMER_MAX_ATTEMPTS" in stopped.value.message


def test_each_service_reads_only_its_own_prefix(monkeypatch):
    monkeypatch.setenv("RESOURCES_KAFKA_BOOTSTRAP_SERVERS", "10.0.0.1:9092")
    monkeypatch.setenv("ORGGRAPH_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.9:9092")
    assert load_settings(OrgGraphSettings).kafka_bootstrap_servers == "127.0.0.9:9092"
    assert load_settings(ResourcesSettings).kafka_bootstrap_servers == "10.0.0.1:9092"
