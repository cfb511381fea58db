"""Session fixtures: each real server lives in its own module under tests/servers/."""

pytest_plugins: list[str] = [
    "tests.servers.kubo",
    "tests.servers.storacha",
    "tests.servers.seaweedfs",
    "tests.servers.postgres",
]
