"""Real servers for the test suite, started on 127.0.0.1 and stopped by PID."""
