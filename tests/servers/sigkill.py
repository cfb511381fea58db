"""A child process that SIGKILLs itself mid-work: the fault an interrupted run leaves."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Mapping

__all__ = ["kill_after_calls", "run_until_killed"]


def kill_after_calls(module: str, method: str, body: str) -> str:
    """A child script: ``module``'s ``Class.method`` works as before, but the process
    SIGKILLs itself right after its ``sys.argv[2]``-th call; ``body`` then runs (with
    ``sys`` imported; ``sys.argv[1]`` is the child's first argument)."""
    owner, _, name = method.partition(".")
    head = textwrap.dedent(
        f"""
        import os, signal, sys
        from {module} import {owner}

        calls, kill_after = [], int(sys.argv[2])
        original = {owner}.{name}

        def dying(self, *args, **kwargs):
            answer = original(self, *args, **kwargs)
            calls.append(args)
            if len(calls) == kill_after:  # the fault: the process dies mid-work
                os.kill(os.getpid(), signal.SIGKILL)
            return answer

        {owner}.{name} = dying
        """
    )
    return head + textwrap.dedent(body)


def run_until_killed(script: str, env: Mapping[str, str], *args: str) -> None:
    """Run ``script`` in a fresh interpreter with ``env`` added to this one's; assert it
    died of SIGKILL (its stderr shown if not)."""
    child = subprocess.run(
        [sys.executable, "-c", script, *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
