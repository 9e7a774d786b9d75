import socket

import pytest

from pytest_agorabench.environment import EnvironmentVariableError
from pytest_agorabench.hosts import host_id


def test_the_host_id_is_the_variable_when_set_else_the_host_name(monkeypatch):
    monkeypatch.setenv("AGORABENCH_HOST_ID", "node-b.rack_2")
    assert host_id() == "node-b.rack_2"
    monkeypatch.setenv("AGORABENCH_HOST_ID", "")  # empty counts as unset
    assert host_id() == socket.gethostname()


def test_a_bad_host_id_is_refused_naming_the_variable(monkeypatch):
    monkeypatch.setenv("AGORABENCH_HOST_ID", "../elsewhere")
    with pytest.raises(EnvironmentVariableError, match=r"AGORABENCH_HOST_ID='../elsewhere' cannot name files"):
        host_id()


def test_a_host_name_unfit_for_a_path_asks_for_the_variable(monkeypatch):
    monkeypatch.delenv("AGORABENCH_HOST_ID", raising=False)
    monkeypatch.setattr(socket, "gethostname", lambda: "bad/host")
    with pytest.raises(EnvironmentVariableError, match=r"host name 'bad/host' cannot name files .* set AGORABENCH_HOST_ID"):
        host_id()
