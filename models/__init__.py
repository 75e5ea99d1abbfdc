"""Models that label complaint posts, behind :class:`pipeline.predictions.Labeler`.

Builds on ``pipeline`` (never the other way round). Heavy dependencies (torch,
transformers) are imported only by the modules that need them.
"""
