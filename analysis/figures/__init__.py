"""Figure families of the report, one module each (matplotlib, Agg backend, PNG files).

- :mod:`analysis.figures.geometry`: target logit vs theta_y, binary decision boundaries, margin
  width and InterFace's m-hat, all evaluated through the loss modules' geometry hooks;
- :mod:`analysis.figures.toy`: 2-D embeddings of a few identities trained with three losses;
- :mod:`analysis.figures.learned`: geometry of trained runs (class-centre angles, logged angles,
  pair cosines);
- :mod:`analysis.figures.training`: training curves, ROC curves, run time and throughput.

Every function returns a list of :class:`analysis.figures.common.Figure` records (path, title,
caption, alt text) that the report template shows.
"""
