"""The online branch's projection head h (paper section 4.1)."""

from __future__ import annotations

from torch import Tensor, nn


class ProjectionHead(nn.Module):
    """Three stacked blocks, each Linear(d, w*d) -> ReLU -> Linear(w*d, d); w = 10 in the paper.

    As in the authors' code there is no activation between blocks. The head belongs to the loss:
    it is optimised with it and never saved into the encoder.
    """

    def __init__(self, dim: int, expansion: int = 10, blocks: int = 3) -> None:
        super().__init__()
        if dim < 1 or expansion < 1 or blocks < 1:
            raise ValueError(f"head needs dim, expansion, blocks >= 1, got {dim}, {expansion}, {blocks}")
        hidden = expansion * dim
        self.blocks = nn.Sequential(
            *(nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, dim)) for _ in range(blocks))
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.blocks(x)
