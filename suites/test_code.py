"""AgoraBench, code domain: one case per generation method (instance / response / quality enhancement)."""

import pytest

from pytest_agorabench.settings import available_settings


@pytest.mark.agorabench
@pytest.mark.parametrize("setting", available_settings("code"), ids=lambda s: s.id)
def test_setting(agorabench, setting):
    agorabench.check(setting)
