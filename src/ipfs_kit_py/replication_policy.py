"""Replication policies as values: how many durable copies, and in which backends.

A :class:`ReplicationPolicy` says ``min_copies`` (durable copies: every tier but the
per-process memory tier) and ``required`` backends. :class:`PolicySet` picks the policy
of a CID: a default, strengthened by the policy of each of its tags and by its own
(``metadata["replication"]`` in the index, set by ``ipfs_kit.keep``). Kept apart from
:mod:`ipfs_kit_py.replication` (the operations), which the facade loads only when a
command replicates, verifies or repairs: ``cat`` of a cached CID reads the policies'
configuration and nothing more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ipfs_kit_py.errors import ConfigurationError, InvalidInputError

__all__ = ["PolicySet", "ReplicationPolicy"]


@dataclass(frozen=True, slots=True)
class ReplicationPolicy:
    """At least ``min_copies`` durable copies, including one in each ``required`` backend."""

    min_copies: int = 1
    required: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.min_copies < 0:
            raise InvalidInputError(f"min_copies must be >= 0, got {self.min_copies}")

    def merge(self, other: ReplicationPolicy) -> ReplicationPolicy:
        """The stricter of both: more copies, and every required backend of each."""
        required = tuple(dict.fromkeys(self.required + other.required))
        return ReplicationPolicy(max(self.min_copies, other.min_copies), required)


@dataclass(frozen=True)
class PolicySet:
    """A default policy plus per-tag policies (``{"keep": ReplicationPolicy(2)}``)."""

    default: ReplicationPolicy = ReplicationPolicy()
    by_tag: Mapping[str, ReplicationPolicy] = field(default_factory=dict)

    def policy_for(
        self, tags: Sequence[str], own: Mapping[str, Any] | None = None
    ) -> ReplicationPolicy:
        """The default, merged with each tag's policy and the CID's own (``own``)."""
        policy = self.default
        for tag in tags:
            if tag in self.by_tag:
                policy = policy.merge(self.by_tag[tag])
        return policy.merge(_policy(own)) if own else policy

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> PolicySet:
        """From a ``[replication]`` section: ``min_copies``, ``required``, ``[tags.<tag>]``."""
        tags = section.get("tags") or {}
        if not isinstance(tags, Mapping):
            raise ConfigurationError("[replication] tags must be a table of tag policies")
        return cls(_policy(section), {str(t): _policy(p) for t, p in tags.items()})


def _policy(values: Mapping[str, Any]) -> ReplicationPolicy:
    try:
        required = values.get("required") or ()
        if isinstance(required, str):
            required = [required]
        return ReplicationPolicy(int(values.get("min_copies", 1)), tuple(str(r) for r in required))
    except (TypeError, ValueError, AttributeError) as exc:
        raise ConfigurationError(f"invalid replication policy {values!r}: {exc}") from exc
