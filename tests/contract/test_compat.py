"""The compatibility checker: each kind of breaking change is caught; additive changes pass."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

from civicgrid_contracts.compat import Incompatibility, Kind, compare


def schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema()


def kinds(found: list[Incompatibility]) -> list[tuple[str, Kind]]:
    return [(i.path, i.kind) for i in found]


class Base(BaseModel):
    name: str
    count: int
    note: str | None = None


def test_an_unchanged_schema_is_compatible() -> None:
    assert compare(schema(Base), schema(Base)) == []


def test_a_removed_field_is_incompatible() -> None:
    class New(BaseModel):
        name: str
        note: str | None = None

    assert kinds(compare(schema(Base), schema(New))) == [("$.count", Kind.REMOVED_FIELD)]


def test_a_renamed_field_shows_as_removed_and_added_with_a_hint() -> None:
    class New(BaseModel):
        title: str
        count: int
        note: str | None = None

    found = compare(schema(Base), schema(New))
    assert kinds(found) == [("$.name", Kind.REMOVED_FIELD), ("$.title", Kind.NEW_REQUIRED_FIELD)]
    assert "renamed to one of ['title']" in found[0].detail


def test_a_string_that_became_an_integer_is_a_narrowed_type() -> None:
    class New(BaseModel):
        name: int
        count: int
        note: str | None = None

    found = compare(schema(Base), schema(New))
    assert kinds(found) == [("$.name", Kind.NARROWED_TYPE)]
    assert "string → integer" in found[0].detail


def test_a_number_that_became_an_integer_is_a_narrowed_type() -> None:
    class Old(BaseModel):
        ratio: float

    class New(BaseModel):
        ratio: int

    assert kinds(compare(schema(Old), schema(New))) == [("$.ratio", Kind.NARROWED_TYPE)]


def test_a_union_losing_a_member_is_a_narrowed_type() -> None:
    class Old(BaseModel):
        value: str | int

    class New(BaseModel):
        value: str

    found = compare(schema(Old), schema(New))
    assert kinds(found) == [("$.value", Kind.NARROWED_TYPE)]
    assert "no longer accepts integer" in found[0].detail


def test_a_nullable_field_that_no_longer_accepts_null_is_a_narrowed_type() -> None:
    class New(BaseModel):
        name: str
        count: int
        note: str = ""

    found = compare(schema(Base), schema(New))
    assert kinds(found) == [("$.note", Kind.NARROWED_TYPE)]
    assert "no longer accepts null" in found[0].detail


class Colour(StrEnum):
    RED = "red"
    GREEN = "green"


class FewerColours(StrEnum):
    RED = "red"


def test_an_enum_losing_a_value_is_a_narrowed_enum() -> None:
    class Old(BaseModel):
        colour: Colour

    class New(BaseModel):
        colour: FewerColours

    found = compare(schema(Old), schema(New))
    assert kinds(found) == [("$.colour", Kind.NARROWED_ENUM)]
    assert "'green'" in found[0].detail


def test_a_literal_losing_a_value_and_a_free_string_becoming_an_enum_are_narrowed_enums() -> None:
    class Old(BaseModel):
        tier: Literal["grid", "street"]
        label: str

    class New(BaseModel):
        tier: Literal["grid"]
        label: Colour

    assert kinds(compare(schema(Old), schema(New))) == [
        ("$.tier", Kind.NARROWED_ENUM),
        ("$.label", Kind.NARROWED_ENUM),
    ]


def test_new_or_stricter_constraints_are_narrowings() -> None:
    class Old(BaseModel):
        text: str = Field(max_length=100)
        code: str
        rating: int = Field(ge=0)

    class New(BaseModel):
        text: str = Field(max_length=50)
        code: str = Field(pattern=r"^[0-9]{12}$")
        rating: int = Field(ge=1, le=5)

    found = compare(schema(Old), schema(New))
    assert kinds(found) == [
        ("$.text", Kind.NARROWED_CONSTRAINT),
        ("$.code", Kind.NARROWED_CONSTRAINT),
        ("$.rating", Kind.NARROWED_CONSTRAINT),
        ("$.rating", Kind.NARROWED_CONSTRAINT),
    ]
    assert "maxLength: 100 → 50" in found[0].detail


def test_a_new_required_field_is_incompatible() -> None:
    class New(Base):
        grid_id: str

    assert kinds(compare(schema(Base), schema(New))) == [("$.grid_id", Kind.NEW_REQUIRED_FIELD)]


def test_an_optional_field_that_became_required_is_incompatible() -> None:
    class New(BaseModel):
        name: str
        count: int
        note: str | None

    assert kinds(compare(schema(Base), schema(New))) == [("$.note", Kind.BECAME_REQUIRED)]


def test_additive_optional_fields_and_widened_types_are_compatible() -> None:
    class Old(BaseModel):
        name: str = Field(max_length=50)
        count: int
        colour: FewerColours
        tags: list[str]
        note: str

    class New(BaseModel):
        name: str = Field(max_length=200)
        count: float
        colour: Colour
        tags: list[str | int]
        note: str | None = None
        extra: str | None = None

    assert compare(schema(Old), schema(New)) == []


def test_changes_inside_nested_models_and_array_items_are_found_with_their_path() -> None:
    class OldPeriod(BaseModel):
        start: str
        end: str | None = None

    class NewPeriod(BaseModel):
        start: str

    class Old(BaseModel):
        period: OldPeriod
        codes: list[str]

    class New(BaseModel):
        period: NewPeriod
        codes: list[int]

    assert kinds(compare(schema(Old), schema(New))) == [
        ("$.period.end", Kind.REMOVED_FIELD),
        ("$.codes[]", Kind.NARROWED_TYPE),
    ]


def test_a_narrowing_under_additional_properties_is_found() -> None:
    class Old(BaseModel):
        attributes: dict[str, str | int]

    class New(BaseModel):
        attributes: dict[str, str]

    assert kinds(compare(schema(Old), schema(New))) == [("$.attributes{}", Kind.NARROWED_TYPE)]


def test_forbidding_additional_properties_is_a_narrowing() -> None:
    old = {"type": "object", "properties": {"a": {"type": "string"}}}
    new = {**old, "additionalProperties": False}
    assert kinds(compare(old, new)) == [("$", Kind.NARROWED_CONSTRAINT)]


def test_recursive_schemas_are_compared_without_looping() -> None:
    tree = {
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}},
            }
        },
        "$ref": "#/$defs/Node",
    }
    assert compare(tree, tree) == []


def test_an_incompatibility_reads_as_path_kind_and_detail() -> None:
    found = Incompatibility("$.count", Kind.REMOVED_FIELD, "field 'count' was removed")
    assert str(found) == "$.count: removed_field: field 'count' was removed"


def test_recursive_schemas_reached_through_unions_are_compared_without_looping() -> None:
    class Node(BaseModel):
        label: str
        left: Node | None = None
        right: list[Node | None] = []

    class Leaf(BaseModel):
        label: int
        left: Leaf | None = None
        right: list[Leaf | None] = []

    assert compare(schema(Node), schema(Node)) == []
    assert ("$.label", Kind.NARROWED_TYPE) in kinds(compare(schema(Node), schema(Leaf)))
