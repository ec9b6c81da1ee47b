from __future__ import annotations

import torch
from torch import nn

from sct.head import ProjectionHead


def test_three_blocks_of_linear_relu_linear_with_expansion_ten():
    head = ProjectionHead(6)
    assert len(head.blocks) == 3
    for block in head.blocks:
        kinds = [type(m) for m in block]
        assert kinds == [nn.Linear, nn.ReLU, nn.Linear]
        assert (block[0].in_features, block[0].out_features) == (6, 60)
        assert (block[2].in_features, block[2].out_features) == (60, 6)
    assert sum(p.numel() for p in head.parameters()) == 3 * (6 * 60 + 60 + 60 * 6 + 6)
    assert head(torch.randn(4, 6)).shape == (4, 6)


def test_expansion_is_configurable():
    head = ProjectionHead(4, expansion=2)
    assert head.blocks[0][0].out_features == 8
