"""structnet: Li, Zhang and Chan, Maximum-Margin Structured Learning with Deep Networks
for 3D Human Pose Estimation (ICCV 2015), on PyTensor."""
from structnet.config import Config, paper, quick
from structnet.model.network import StructNet

__version__ = "0.1.0"
__all__ = ["Config", "StructNet", "paper", "quick", "__version__"]
