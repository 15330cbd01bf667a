"""The adversarial and additivity terms of paper 001, with WGAN-GP critics.

Paper 001 trains ``L = L_sup + alpha * L_adv + beta * L_add``: ``L_adv`` sums, over sources
k, a divergence between the separator's outputs for source k and real solo recordings of k,
estimated by one critic per source; ``L_add`` is the squared error between the sum of the
estimates and the mixture.

Wasserstein estimate (Gulrajani et al. 2017, "Improved training of Wasserstein GANs"): the
critic D maximises ``E[D(real)] - E[D(fake)]`` subject to being 1-Lipschitz, enforced softly by
the gradient penalty ``lambda * E[(||grad D(x_hat)||_2 - 1)^2]`` at points
``x_hat = eps * real + (1 - eps) * fake`` with ``eps ~ U[0, 1]`` per example. The separator
minimises ``-E[D(fake)]``, the part of the estimate it can move.

All inputs are critic features (``models.critic.critic_features``),
``(batch, bins, frames)``; scores are ``(batch,)``.
"""

from __future__ import annotations

import torch

GP_WEIGHT = 10.0  # lambda of the WGAN-GP paper, used unchanged there across all its tasks


def interpolates(real: torch.Tensor, fake: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """``eps * real + (1 - eps) * fake`` with one ``eps`` ``(batch,)`` per example."""
    e = eps.reshape(-1, *([1] * (real.dim() - 1)))
    return e * real + (1.0 - e) * fake


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor, eps: torch.Tensor,
                     weight: float = GP_WEIGHT) -> torch.Tensor:
    """``weight * mean_i (||d critic(x_hat_i) / d x_hat_i||_2 - 1)^2``, differentiable in the
    critic's parameters (``create_graph``), so it can be minimised."""
    x_hat = interpolates(real.detach(), fake.detach(), eps).requires_grad_(True)
    scores = critic(x_hat)
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    # each score depends on its own example only (no batch statistics in the critic), so the
    # gradient of the sum holds every example's own gradient
    norms = grad.reshape(grad.shape[0], -1).norm(dim=1)
    return weight * ((norms - 1.0) ** 2).mean()


def critic_loss(critic, real: torch.Tensor, fake: torch.Tensor, eps: torch.Tensor,
                gp_weight: float = GP_WEIGHT) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss to minimise, Wasserstein estimate ``E[D(real)] - E[D(fake)]`` detached)."""
    d_real = critic(real).mean()
    d_fake = critic(fake.detach()).mean()
    loss = d_fake - d_real + gradient_penalty(critic, real, fake, eps, gp_weight)
    return loss, (d_real - d_fake).detach()


def adversarial_loss(critic, fake: torch.Tensor) -> torch.Tensor:
    """The separator's term for one source: ``-E[D(fake)]`` (gradients reach ``fake``)."""
    return -critic(fake).mean()


def additivity_loss(estimates, mixture: torch.Tensor) -> torch.Tensor:
    """Mean squared error between the sum of the source estimates and the mixture, relative to
    the mixture's mean square per example (so loud and quiet excerpts weigh alike).

    Shapes: each estimate and ``mixture`` (batch, bins, frames) magnitudes. A masking separator
    whose estimates are ``m |X|`` and ``(1 - m) |X|`` meets it exactly (the term is 0); it
    constrains separators that estimate each source on its own.
    """
    total = torch.stack(list(estimates)).sum(dim=0)
    err = ((total - mixture) ** 2).flatten(1).mean(dim=1)
    ref = (mixture ** 2).flatten(1).mean(dim=1).clamp_min(1e-12)
    return (err / ref).mean()
