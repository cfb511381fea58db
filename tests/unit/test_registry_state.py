"""The registry against a model: registrations, clobbering, lookups (Hypothesis state machine)."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from ipfs_kit_py.backends import registry
from ipfs_kit_py.backends.memory import MemoryBackend
from ipfs_kit_py.errors import ConfigurationError, NotConfiguredError

NAMES = st.sampled_from(["t_alpha", "t_beta", "t_gamma"])
PATHS = st.sampled_from(
    ["ipfs_kit_py.backends.memory.MemoryBackend", "no_such_pkg.Store", "ipfs_kit_py.errors.Foo"]
)


class RegistryMachine(RuleBasedStateMachine):
    """Registrations behave like a dict that refuses silent replacement."""

    def __init__(self) -> None:
        super().__init__()
        self.model: dict[str, str] = {}

    @rule(name=NAMES, path=PATHS, clobber=st.booleans())
    def register(self, name: str, path: str, clobber: bool) -> None:
        current = self.model.get(name)
        if current is not None and current != path and not clobber:
            try:
                registry.register_implementation(name, path, clobber=clobber)
            except ConfigurationError:
                return
            raise AssertionError("replaced a registration without clobber")
        registry.register_implementation(name, path, clobber=clobber)
        self.model[name] = path

    @rule(name=NAMES)
    def register_class(self, name: str) -> None:
        registry.register_implementation(name, MemoryBackend, clobber=True)
        self.model[name] = "ipfs_kit_py.backends.memory.MemoryBackend"

    @rule(name=NAMES)
    def look_up(self, name: str) -> None:
        path = self.model.get(name)
        if path is None:
            try:
                registry.get_backend_class(name)
            except ConfigurationError as exc:
                assert "unknown backend" in str(exc)
                return
            raise AssertionError(f"{name} resolved without a registration")
        if path.endswith("MemoryBackend"):
            assert registry.get_backend_class(name) is MemoryBackend
            return
        try:
            registry.get_backend_class(name)
        except NotConfiguredError as exc:
            assert "cannot be loaded" in str(exc)
            return
        raise AssertionError(f"{path} loaded")

    @invariant()
    def matches_the_model(self) -> None:
        for name in ("t_alpha", "t_beta", "t_gamma"):
            impl = registry.known_implementations.get(name)
            assert (impl.class_path if impl else None) == self.model.get(name)
            if impl is not None:
                assert impl.section == name
        assert registry.available_backends()[:6] == [
            "memory",
            "disk",
            "kubo",
            "s3",
            "storacha",
            "gateway",
        ]

    def teardown(self) -> None:
        for name in self.model:
            registry.known_implementations.pop(name, None)
            registry._classes.pop(name, None)


RegistryMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=15, deadline=None)
TestRegistry = RegistryMachine.TestCase
