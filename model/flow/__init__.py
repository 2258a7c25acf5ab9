"""V2M-Zero's generator (paper §3.3): a rectified-flow DiT over audio latents with the event
curve concatenated as one extra input channel, trained on music only and sampled with
classifier-free guidance on text and curve. The backend ``flow`` (``v2m score --backend
flow``) is :mod:`v2m.model.backends.flow`.

Modules: ``config`` (sizes, saved with every checkpoint), ``dit`` (the velocity network),
``text`` (text encoders), ``codec`` (audio ↔ latents), ``rectified`` (the loss of Eq. 6 and the
Euler sampler), ``checkpoint``, ``stable_audio`` (a pretrained Stable Audio Open base through
diffusers), ``train`` (``v2m train``).
"""
