"""The host id: this machine's name wherever a store shared by several machines names things by host (server
records and their folders, temp files, the report of which store each node saw), so two nodes never collide
on a pid and a process's liveness is judged only on its own host."""

from __future__ import annotations

import socket

from pytest_agorabench.environment import HOST_ID, HOST_NAME, EnvironmentVariableError


def host_id() -> str:
    """AGORABENCH_HOST_ID when set (checked), else the host name. Read on every call: tests give each
    stand-in node its own."""
    chosen = HOST_ID.get()
    if chosen is not None:
        return chosen
    name = socket.gethostname()
    if not HOST_NAME.fullmatch(name):
        raise EnvironmentVariableError(
            f"this machine's host name {name!r} cannot name files in the store; set {HOST_ID.name} to {HOST_ID.kind}"
        )
    return name
