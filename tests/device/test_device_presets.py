"""Presets: the YAML mirrors in arch_configs/mtj equal the cited Python presets."""

from pathlib import Path

import pytest

from accelsim.config import load_yaml_as
from accelsim.device import MTJ, MTJ_PRESETS, mtj_preset
from accelsim.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", sorted(MTJ_PRESETS))
def test_yaml_mirror_equals_python_preset(name):
    loaded = load_yaml_as(MTJ, ROOT / "arch_configs" / "mtj" / f"{name}.yaml")
    preset = mtj_preset(name)
    for field in MTJ.__dataclass_fields__:
        a, b = getattr(loaded, field), getattr(preset, field)
        assert a == (pytest.approx(b, rel=1e-12) if isinstance(b, float) else b), field


def test_unknown_preset_names_the_known_ones():
    with pytest.raises(ConfigError, match="hirtzlin-32nm"):
        mtj_preset("hirtzlin")
