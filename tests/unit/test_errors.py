"""The exception tree: drawn in its docstring, rooted in IpfsKitError, picklable with its fields."""

from __future__ import annotations

import pickle

from hypothesis import given, settings
from hypothesis import strategies as st

from ipfs_kit_py import errors

CLASSES = [getattr(errors, name) for name in errors.__all__]


def test_every_class_is_drawn_in_the_docstring_and_rooted() -> None:
    doc = errors.__doc__ or ""
    for cls in CLASSES:
        assert issubclass(cls, errors.IpfsKitError)
        assert cls.__doc__, cls
        assert f" {cls.__name__} " in doc, f"{cls.__name__} is missing from the drawing"


def test_a_timeout_is_a_backend_unavailable_error() -> None:
    # what keeps one CLI exit code for every backend's timeout
    assert issubclass(errors.BackendTimeoutError, errors.BackendUnavailableError)


@settings(max_examples=60, deadline=None)
@given(
    cls=st.sampled_from([c for c in CLASSES if issubclass(c, errors.BackendError)]),
    message=st.text(max_size=60),
    backend=st.sampled_from(["", "kubo", "s3", "gateway", "storacha"]),
    locator=st.text(max_size=60),
)
def test_backend_errors_keep_backend_and_locator_through_pickle(
    cls: type[errors.BackendError], message: str, backend: str, locator: str
) -> None:
    error = cls(message, backend=backend, locator=locator)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is cls and str(copy) == message
    assert (copy.backend, copy.locator) == (backend, locator)


def test_content_errors_keep_their_fields_through_pickle() -> None:
    missing = errors.ContentNotFoundError("gone", backend="disk", locator="/x")
    copy = pickle.loads(pickle.dumps(missing))
    assert (copy.backend, copy.locator) == ("disk", "/x")
    mismatch = errors.ContentMismatchError("bad", cid="bafy", actual="bafz")
    copy2 = pickle.loads(pickle.dumps(mismatch))
    assert (copy2.cid, copy2.actual) == ("bafy", "bafz")
