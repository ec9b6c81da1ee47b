"""Every ablation of SCT (paper Table 4) and of SCT distillation (Table 6) in one place: its name, what it
changes, and which terms it touches.

L_SCT takes every ablation (``SCTLoss``); L_CD, the same cross-view loss with the teacher as reference, takes the
ones in ``CD_ABLATIONS`` (the loss form and the queues); ``no-head`` and ``momentum-reference`` act on L_SCT
alone, so they need an SCT weight above 0 in distillation.
"""

from __future__ import annotations

ABLATIONS = {
    "none": "L_SCT: cross-view KL between similarity distributions over the queues (paper eq. 2)",
    "contrastive": "distribution -> contrastive: InfoNCE, the other view's reference as positive, the queue as "
    "negatives (Table 4)",
    "identical-view": "cross-view -> identical-view: each view's online branch matches its own reference (Table 4)",
    "momentum-reference": "f_ref -> a momentum encoder: the references come from an exponential moving average "
    "of the encoder (momentum --reference-momentum per step, 0.99 by default, MoCo/BYOL style; 1 keeps the initial "
    "encoder) instead of the encoder itself (Table 4)",
    "no-head": "no MLP head: the online branch is the normalised encoder output (Table 4)",
    "one-queue": "only one instance queue: both terms score against it and both views' references enter it (Table 4)",
    "frozen-queue": "no update of the queues: they keep their random initial vectors (Table 4)",
    "no-queue": "no instance queue: each distribution is over this step's references only (Table 4)",
}

CD_ABLATIONS = ("contrastive", "identical-view", "one-queue", "frozen-queue", "no-queue")


def distillation_ablation_problem(ablation: str, method: str, sct_weight: float) -> str | None:
    """Why an ablation cannot apply to this distillation loss (None if it can): it must change some term."""
    if ablation not in ABLATIONS:
        return f"ablation must be one of {', '.join(ABLATIONS)}, got {ablation!r}"
    if ablation == "none" or sct_weight > 0 or (method == "cd" and ablation in CD_ABLATIONS):
        return None
    return (
        f"ablation {ablation} acts on L_SCT"
        + (" (and on L_CD only for " + ", ".join(CD_ABLATIONS) + ")" if method == "cd" else "")
        + ", which an SCT weight of 0 leaves out"
    )
