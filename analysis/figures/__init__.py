"""Figure families of the report, one module each (matplotlib, Agg backend, PNG and SVG files).

- :mod:`analysis.figures.palette`: one colour per method in every figure, and the loss families
  that split a figure into small multiples (at most 8 series on one axes);
- :mod:`analysis.figures.sweeps`: each benchmark's headline metric against a swept margin
  parameter (m, alpha), mean and 95 % interval over seeds;
- :mod:`analysis.figures.geometry`: InterFace's boundary shift relative to ArcFace, its m-hat,
  target logit vs theta_y and binary decision boundaries, all evaluated through the loss
  modules' geometry hooks;
- :mod:`analysis.figures.significance`: critical-difference diagram and significance heatmap;
- :mod:`analysis.figures.toy`: 2-D embeddings of a few identities trained with three losses;
- :mod:`analysis.figures.learned`: geometry of trained runs (class-centre angles, logged angles,
  pair cosines);
- :mod:`analysis.figures.training`: training curves, ROC curves, run time and throughput.

Every function returns :class:`analysis.figures.common.Figure` records (path, title, caption,
alt text, family) that the report template shows; the SVG lies beside each PNG.
"""
