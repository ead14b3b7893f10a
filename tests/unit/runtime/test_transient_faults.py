"""Which errors mean "the store is unavailable, try later" (503, hold the partition) and which do not."""

from __future__ import annotations

import types

from civicgrid_runtime.faults import is_transient


def _raise_from_module(module_name: str, error: BaseException) -> BaseException:
    """``error`` raised by a function whose module is ``module_name`` (its traceback says so)."""
    module = types.ModuleType(module_name)
    exec("def boom(e):\n    raise e\n", module.__dict__)
    try:
        module.boom(error)
    except BaseException as raised:
        return raised
    raise AssertionError("not raised")


def test_pymongos_broken_server_selection_wait_during_an_outage_is_transient() -> None:
    error = _raise_from_module("pymongo._asyncio_lock", RuntimeError("cannot wait on un-acquired lock"))
    assert is_transient(error)


def test_the_same_runtime_error_raised_by_our_own_code_is_not_transient() -> None:
    error = _raise_from_module(
        "civicgrid_resources.service_layer", RuntimeError("cannot wait on un-acquired lock")
    )
    assert not is_transient(error)


def test_another_runtime_error_raised_inside_pymongo_is_not_transient() -> None:
    error = _raise_from_module("pymongo.cursor", RuntimeError("something else"))
    assert not is_transient(error)


def test_a_runtime_error_wrapping_the_broken_wait_is_transient_through_its_cause() -> None:
    cause = _raise_from_module("pymongo._asyncio_lock", RuntimeError("cannot wait on un-acquired lock"))
    wrapper = RuntimeError("request failed")
    wrapper.__cause__ = cause
    assert is_transient(wrapper)
