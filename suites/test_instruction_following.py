"""AgoraBench, instruction-following domain: one case per generation method, judged on AlpacaEval 2.0 and
Arena-Hard by the model named with --judge (the smoke profile's judge is SmolLM2)."""

import pytest

from pytest_agorabench.settings import available_settings


@pytest.mark.agorabench
@pytest.mark.parametrize("setting", available_settings("instruction_following"), ids=lambda s: s.id)
def test_setting(agorabench, setting):
    agorabench.check(setting)
