"""The study: what a trial is (:class:`~.config.TrialConfig`), what a grid of them is
(:class:`~.config.Grid`, the presets) and what a trial's outcome is
(:class:`~.results.TrialResult`, :class:`~.results.Status`), and the curve a trial still in
training publishes (:mod:`.live`). Plain, frozen records; imports
nothing of lstm-sweep but its errors, and no torch."""
