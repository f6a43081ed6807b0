"""The official RealESRGANer (realesrgan 0.3.0 + basicsr 1.4.2) on our converted weights.

Installed apart from the project (see requirements-official.txt) into bench/.official, or
anywhere on sys.path; the DESIGN.md shim aliases the module that torchvision >= 0.17 removed.
"""

from __future__ import annotations

import sys

import numpy as np

from bench.common import CACHE, OFFICIAL_SITE, state_dict


def import_official():
    import torchvision.transforms.functional as functional

    if OFFICIAL_SITE.is_dir() and str(OFFICIAL_SITE) not in sys.path:
        sys.path.insert(0, str(OFFICIAL_SITE))
    sys.modules.setdefault("torchvision.transforms.functional_tensor", functional)  # the one-line shim
    from basicsr.archs.rrdbnet_arch import RRDBNet
    from realesrgan import RealESRGANer
    from realesrgan.archs.srvgg_arch import SRVGGNetCompact

    return RealESRGANer, RRDBNet, SRVGGNetCompact


def make(model: str, tile: int, pad: int, device=None, half: bool = False, pre_pad: int = 0):
    """`run(rgb uint8 HxWx3) -> rgb uint8` through RealESRGANer.enhance (BGR in and out, as it expects)."""
    import torch

    RealESRGANer, RRDBNet, SRVGGNetCompact = import_official()
    if model == "RealESRGAN_x4plus":
        net = RRDBNet(num_in_ch=3, num_out_ch=3, num_feat=64, num_block=23, num_grow_ch=32, scale=4)
    else:
        net = SRVGGNetCompact(num_in_ch=3, num_out_ch=3, num_feat=64, num_conv=16, upscale=4, act_type="prelu")
    weights = CACHE / f"{model}.official.pth"
    if not weights.is_file():
        CACHE.mkdir(parents=True, exist_ok=True)
        torch.save({"params_ema": state_dict(model)}, weights)
    upsampler = RealESRGANer(
        scale=4,
        model_path=str(weights),
        model=net,
        tile=tile,
        tile_pad=pad,
        pre_pad=pre_pad,
        half=half,
        device=torch.device(device or "cpu"),
    )

    def run(image: np.ndarray) -> np.ndarray:
        out, _ = upsampler.enhance(np.ascontiguousarray(image[..., ::-1]), outscale=4)
        return np.ascontiguousarray(out[..., ::-1])

    return run
