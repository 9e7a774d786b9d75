"""The driver side of --agora-ray without a cluster: the option, a missing Ray, what reaches the nodes'
environment, how a report names a case's nodes, and a clock adopting the stages another task ran."""

import builtins

import pytest

from pytest_agorabench.cluster.ray_run import ClusterError, RayRun, forwarded_env
from pytest_agorabench.config import build_config
from pytest_agorabench.path_options import ConfigError
from pytest_agorabench.pipeline.keys import Clock
from pytest_agorabench.report.html_page import node_text


def test_the_option_takes_an_address_or_auto_and_off_runs_locally(tmp_path):
    assert build_config({"ray": "auto"}, {}, tmp_path).ray == "auto"
    assert build_config({}, {"ray": "10.0.0.1:6379"}, tmp_path).ray == "10.0.0.1:6379"
    assert build_config({"ray": "off"}, {"ray": "auto"}, tmp_path).ray is None
    assert build_config({}, {}, tmp_path).ray is None
    with pytest.raises(ConfigError, match=r"ray = 6379: expected a string"):
        build_config({}, {"ray": 6379}, tmp_path)


def test_without_ray_installed_the_run_says_how_to_install_it(monkeypatch):
    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(ClusterError, match=r'pip install "pytest-agorabench\[ray\]"'):
        RayRun("auto", "s1").connect()


def test_our_settings_reach_the_nodes_but_not_the_host_id_nor_provider_keys():
    env = {"AGORABENCH_MODEL_CACHE": "/shared/models", "AGORABENCH_HOST_ID": "head", "OPENAI_API_KEY": "sk-x",
           "PATH": "/bin"}
    assert forwarded_env(env) == {"AGORABENCH_MODEL_CACHE": "/shared/models"}


def test_the_report_names_the_training_node_the_data_node_and_each_retry():
    assert node_text(None) == "-"
    placement = {
        "host": "node-b",
        "stages": {"generation": {"host": "node-a", "seconds": 3.0},
                   "training_and_evaluation": {"host": "node-b", "seconds": 40.0}},
        "attempts": [{"part": "generation", "host": "node-a"},
                     {"part": "training_and_evaluation", "host": "node-a"},
                     {"part": "training_and_evaluation", "host": "node-b"}],
    }
    assert node_text(placement) == (
        "node-b (data generated on node-a); training and evaluation retried: node-a then node-b"
    )


def test_a_clock_adopts_the_stages_the_data_task_ran_over_what_it_served_itself():
    data_task = Clock()
    data_task.seconds.update({"seeds": 0.1, "generation": 30.0})
    data_task.keys["generation"] = "k1"
    clock = Clock()
    clock.seconds.update({"seeds": 0.0, "generation": 0.2})
    clock.cached.append("generation")  # served from the store: the data task had just made it
    clock.adopt(data_task.record())
    assert clock.seconds == {"seeds": 0.1, "generation": 30.0}
    assert clock.cached == [] and clock.keys == {"generation": "k1"}
