"""InterFace reproduction harness: margin losses, InsightFace data formats, one trainer, exact evaluators.

InterFace: Sang et al., "InterFace: Adjustable Angular Margin Inter-class Loss for Deep Face
Recognition", arXiv 2210.02018 (2022).
"""

__version__ = "0.1.0"
