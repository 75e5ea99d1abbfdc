"""Weak supervision: labeling functions over complaint posts and the label models that combine
their votes into per-label probabilities.

Notation (fixed for the whole package): N posts, K = 4 labels, J_k labeling functions (LFs)
for label k. An LF looks at one post and votes +1 (the label applies), -1 (it does not) or 0
(abstain). ``features`` turns a post into what every LF reads (normalized text, jieba tokens
with their offsets) exactly once; ``lfs`` builds the LFs from the data files under
``pipeline/resources/lexicons/``; ``model`` combines votes (weighted vote or a Dawid-Skene
label model); ``summary`` reports each LF's coverage, overlap, conflict and accuracy.
"""
