"""Continual learning increments for ``train sft``: continue a run, replay, regularize, freeze, measure forgetting.

Modules: ``lineage`` (earlier runs and the data files they recorded, checked by sha256),
``replay`` (drawing old training dialogs into the new mix), ``regularize`` (KL to the previous
model through ``compute_loss_func``, L2-SP through an ``on_pre_optimizer_step`` callback, freezing
before the optimizer exists), ``forgetting`` (dev loss / token accuracy / scorer metrics before and
after) and ``report_html`` (``forgetting.html``). Nothing heavy is imported here.
"""
