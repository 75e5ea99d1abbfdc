"""The ``tousu`` command: one entry point for every stage of the pipeline.

It is the only module that knows ``crawler``, ``pipeline`` and ``models``; each command
imports its stage when it runs, so ``tousu --help`` or ``tousu ingest`` never loads torch.
"""
