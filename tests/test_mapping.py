import numpy as np
import pytest

from accelsim.config import load_arch
from accelsim.mapping import column_types, map_layer, states_to_weight_bits, weights_to_states


def test_convention_round_trip(tiny_arch_path):
    w = np.array([[1, -1, 1], [-1, -1, 1]], dtype=np.int8)
    for convention in ("plus_one_ap", "plus_one_p"):
        arch = load_arch(tiny_arch_path, [f"mapping.convention={convention}"])
        states = weights_to_states(w, arch.mapping)
        assert np.array_equal(np.where(states_to_weight_bits(states, arch.mapping), 1, -1), w)
    arch = load_arch(tiny_arch_path)
    assert np.array_equal(weights_to_states(w, arch.mapping), (w > 0).astype(np.uint8))


@pytest.mark.parametrize("cols, expected", [(5, [0, 0, 0, 1, 1]), (10, [0] * 6 + [1] * 4), (1, [0])])
def test_column_types_follow_fractions(tiny_arch_path, cols, expected):
    arch = load_arch(tiny_arch_path, [f"tile.cols={cols}"])
    assert column_types(arch.tile).tolist() == expected


def test_tile_grid_and_hrs_sorting(tiny_arch_path):
    arch = load_arch(tiny_arch_path)  # 7 x 5 tiles, columns 60 % weak / 40 % strong, sorting on
    hrs_per_neuron = np.array([1, 9, 3, 12, 0, 5, 7])
    w = -np.ones((7, 12), dtype=np.int8)
    for j, h in enumerate(hrs_per_neuron):
        w[j, :h] = 1
    lm = map_layer(0, w, arch)
    assert (lm.row_tiles, lm.col_tiles, lm.n_tiles) == (2, 2, 4)
    # Slots: tile 0 columns [w w w s s]; tile 1 is partly used and gives its two strong columns.
    strong = lm.neuron_group == 1
    assert strong.sum() == 4
    assert set(np.flatnonzero(strong)) == {3, 1, 6, 5}  # the four HRS-heaviest neurons
    assert sorted(lm.neuron_slot.tolist()) == list(range(7))
    unsorted = map_layer(0, w, load_arch(tiny_arch_path, ["mapping.sort_columns_by_hrs=false"]))
    assert unsorted.neuron_group.tolist() == [0, 0, 0, 1, 1, 0, 0]


def test_narrow_layers_reach_the_robust_columns_when_sorting(tiny_arch_path):
    """A layer narrower than a tile picks its columns: the robust ones first when sorting is on."""
    arch = load_arch(tiny_arch_path, ["tile.cols=10"])  # 6 weak + 4 strong columns
    w = -np.ones((3, 5), dtype=np.int8)
    w[1, :4] = 1
    lm = map_layer(0, w, arch)
    assert lm.neuron_group.tolist() == [1, 1, 1]  # three neurons, four strong columns free
    plain = map_layer(0, w, load_arch(tiny_arch_path, ["tile.cols=10", "mapping.sort_columns_by_hrs=false"]))
    assert plain.neuron_group.tolist() == [0, 0, 0]
