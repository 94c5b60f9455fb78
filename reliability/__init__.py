"""Label reliability for crowd votes: the paper's EM estimator, distributions and subsets.

A pure numpy/scipy library with its own CLI (``python -m reliability``); it never imports
Django, so researchers can use it on their own vote files.
"""
