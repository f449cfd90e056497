"""Training: the device (:mod:`.device`), TF's cells and initialisation (:mod:`.model`), TF's
optimizers (:mod:`.optim`), the engines that hold a work unit's model(s) (:mod:`.engines`) and the
one training loop (:mod:`.train`). A trial is a pure function ``(TrialConfig, Dataset) ->
TrialResult``: it neither prints nor touches the store. Imports the study and the data only."""
