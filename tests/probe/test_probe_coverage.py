"""Every public name of every subpackage is probed with bad input, or exempt with a reason."""
from __future__ import annotations

import importlib

import pytest

SUBPACKAGES = ["rl", "attention", "incontext", "training", "symbolic"]


@pytest.mark.parametrize("sub", SUBPACKAGES)
def test_every_public_name_is_probed(sub):
    package = importlib.import_module(f"icrl_lib.{sub}")
    probe = importlib.import_module(f"{__package__}.test_probe_{sub}")
    probed = {c.name for c in probe.CASES}
    exempt = set(probe.EXEMPT)
    missing = sorted(set(package.__all__) - probed - exempt)
    assert not missing, f"icrl_lib.{sub}: public names with no probe case and no exemption: {missing}"
    stale = sorted((probed | exempt) - set(package.__all__))
    assert not stale, f"tests/probe/test_probe_{sub}.py names what icrl_lib.{sub} does not export: {stale}"


@pytest.mark.parametrize("sub", SUBPACKAGES)
def test_exemptions_give_a_reason(sub):
    probe = importlib.import_module(f"{__package__}.test_probe_{sub}")
    for name, why in probe.EXEMPT.items():
        assert isinstance(why, str) and len(why) > 10, f"{sub}.{name}: exemption without a reason"
